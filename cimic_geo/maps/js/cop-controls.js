/*
 * COP map controls in the browser: the legend and the handling-marking banner.
 *
 * The map's script calls cimicCop.legend(map, ITEMS, open) and cimicCop.marking(map, TEXT) with
 * ITEMS and TEXT as JSON (<, >, & escaped); every text is written with textContent.
 */
(function () {
  'use strict';

  // items: [[section title, [[label, colour, 'dot'|'line'|'area'|'diamond'], ...]], ...]
  function legend(map, items, open) {
    var control = L.control({position: 'bottomright'});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', 'cimic-legend');
      div.style.cssText = 'background:rgba(255,255,255,0.92);padding:6px 8px;font:11px sans-serif;' +
        'max-height:45vh;overflow:auto;border:1px solid #999;border-radius:4px';
      var box = document.createElement('details');
      box.open = !!open;
      var sum = document.createElement('summary'); sum.textContent = 'Legend';
      sum.style.fontWeight = 'bold'; box.appendChild(sum);
      items.forEach(function (sec) {
        var h = document.createElement('div'); h.textContent = sec[0];
        h.style.cssText = 'font-weight:bold;margin-top:4px'; box.appendChild(h);
        sec[1].forEach(function (it) {
          var row = document.createElement('div'), sw = document.createElement('span');
          var diamond = it[2] === 'diamond';
          sw.style.cssText = 'display:inline-block;width:' + (diamond ? '9px' : '14px') + ';height:' +
            (it[2] === 'line' ? '3px' : (diamond ? '9px' : '10px')) +
            ';margin-right:5px;vertical-align:middle;border:1px solid #333' +
            (it[2] === 'dot' ? ';border-radius:50%' : '') +
            (diamond ? ';transform:rotate(45deg);margin-left:2px;margin-right:7px' : '');
          sw.style.background = it[1];
          row.appendChild(sw); row.appendChild(document.createTextNode(it[0])); box.appendChild(row);
        });
      });
      div.appendChild(box);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  }

  function marking(map, text) {
    var control = L.control({position: 'topright'});
    control.onAdd = function () {
      var d = L.DomUtil.create('div', 'cimic-marking');
      d.style.cssText = 'background:#ffd200;color:#000;font:bold 13px sans-serif;letter-spacing:0.3em;' +
        'padding:2px 10px;border:1px solid #000';
      d.textContent = text;
      return d;
    };
    control.addTo(map);
    return control;
  }

  window.cimicCop = window.cimicCop || {};
  window.cimicCop.legend = legend;
  window.cimicCop.marking = marking;
})();
