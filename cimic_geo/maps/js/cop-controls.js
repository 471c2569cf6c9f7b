/*
 * COP map controls in the browser: the legend, the APP-6 symbol switch and the handling-marking banner.
 *
 * The map's script calls cimicCop.legend(map, ITEMS, open) and cimicCop.marking(map, TEXT) with
 * ITEMS and TEXT as JSON (<, >, & escaped); every text is written with textContent.
 */
(function () {
  'use strict';

  // one legend swatch: an inline SVG of the shape in the colour (no markup from data)
  var NS = 'http://www.w3.org/2000/svg';
  var SHAPES = {dot: 'M7,2A5,5 0 1,1 6.99,2z', square: 'M2.5,2.5H11.5V11.5H2.5z', triangle: 'M7,1.5L12.5,12H1.5z',
                diamond: 'M7,1L13,7L7,13L1,7z', area: 'M1,3H13V11H1z', count: 'M7,1A6,6 0 1,1 6.99,1z'};
  function swatch(kind, colour) {
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('width', '16'); svg.setAttribute('height', '14'); svg.setAttribute('viewBox', '0 0 14 14');
    svg.style.cssText = 'vertical-align:middle;margin-right:5px';
    var el = document.createElementNS(NS, 'path');
    if (kind === 'line' || kind === 'dash') {
      el.setAttribute('d', 'M0,7H14'); el.setAttribute('stroke', colour); el.setAttribute('stroke-width', '3');
      if (kind === 'dash') { el.setAttribute('stroke-dasharray', '4 2'); }
    } else {
      el.setAttribute('d', SHAPES[kind] || SHAPES.dot); el.setAttribute('fill', colour);
      el.setAttribute('stroke', '#333'); el.setAttribute('stroke-width', '1');
    }
    svg.appendChild(el);
    return svg;
  }

  // items: [[section title, [[label, colour, shape], ...]], ...]; bottom-left (the front runs east),
  // collapsed unless open; title: the summary line, translated by the page (no text in this file)
  function legend(map, items, open, position, title) {
    var control = L.control({position: position || 'bottomleft'});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', 'cimic-legend');
      div.style.cssText = 'background:rgba(255,255,255,0.92);padding:6px 8px;font:11px sans-serif;' +
        'max-height:45vh;overflow:auto;border:1px solid #999;border-radius:4px';
      var box = document.createElement('details');
      box.open = !!open;
      var sum = document.createElement('summary'); sum.textContent = title || '';
      sum.style.fontWeight = 'bold'; box.appendChild(sum);
      items.forEach(function (sec) {
        var h = document.createElement('div'); h.textContent = sec[0];
        h.style.cssText = 'font-weight:bold;margin-top:4px'; box.appendChild(h);
        sec[1].forEach(function (it) {
          var row = document.createElement('div');
          row.appendChild(swatch(it[2], it[1])); row.appendChild(document.createTextNode(it[0])); box.appendChild(row);
        });
      });
      div.appendChild(box);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    control.addTo(map);
    return control;
  }

  // milsymbol loaded on first use (src: its URL on the app's server): a map opens without its 200 KB, and
  // every caller waiting while it loads is called once it is there
  var symbolsWaiting = null;
  function loadSymbols(src, done, failed) {
    if (window.ms) { done(); return; }
    if (!symbolsWaiting) {
      symbolsWaiting = [];
      var s = document.createElement('script');
      s.src = src;
      s.onload = function () { var q = symbolsWaiting; symbolsWaiting = null; q.forEach(function (c) { c[0](); }); };
      s.onerror = function () { var q = symbolsWaiting; symbolsWaiting = null; q.forEach(function (c) { c[1](); }); };
      document.head.appendChild(s);
    }
    symbolsWaiting.push([done, failed]);
  }

  // a checkbox (top left) drawing the point layers as APP-6 symbols (milsymbol) instead of shapes;
  // src (optional): where milsymbol is loaded from when it is not on the page yet
  function symbolSwitch(map, helpers, text, src) {
    var control = L.control({position: 'topleft'});
    control.onAdd = function () {
      var d = L.DomUtil.create('label', 'cimic-symbol-switch');
      d.style.cssText = 'background:rgba(255,255,255,0.92);padding:3px 6px;font:12px sans-serif;' +
        'border:1px solid #999;border-radius:4px;cursor:pointer;display:block';
      var box = document.createElement('input');
      box.type = 'checkbox'; box.checked = !!window.cimicSymbols; box.style.marginRight = '4px';
      box.disabled = !window.ms && !src;
      box.addEventListener('change', function () {
        if (!box.checked || window.ms) { helpers.setSymbols(box.checked); return; }
        loadSymbols(src, function () { helpers.setSymbols(box.checked); },
                    function () { box.checked = false; box.disabled = true; });
      });
      d.appendChild(box); d.appendChild(document.createTextNode(text));
      L.DomEvent.disableClickPropagation(d);
      return d;
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
  window.cimicCop.symbolSwitch = symbolSwitch;
})();
