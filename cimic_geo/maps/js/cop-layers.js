/*
 * COP map layers in the browser: styling, tooltips and popups of the features of each layer.
 *
 * Loaded (served or inlined) before the map's own script, which calls
 *   window.cimicMap = cimicCop.helpers(STYLES);     // once per map, STYLES from maps/cop_map.py
 *   var layer = window.cimicMap.layer(KEY, GEOJSON); // once per layer
 * with STYLES, KEY and GEOJSON as JSON (<, >, & escaped). Text from the data is only ever written
 * with textContent (never as HTML), so markup, script and template syntax in names stay text.
 */
(function () {
  'use strict';
  var UNITS = {area_km2: ' km²', n: ''};

  function helpers(S) {
    function style(f, key) {
      var s = S[key] || {}, p = f.properties || {}, o = Object.assign({}, s.base || {});
      if (s.fill_by && s.fills && s.fills[p[s.fill_by]]) { o.fillColor = s.fills[p[s.fill_by]]; }
      if (s.color_by && s.colors && s.colors[p[s.color_by]]) { o.color = s.colors[p[s.color_by]]; }
      if (s.dash_by && s.dash && s.dash[p[s.dash_by]]) { o.dashArray = s.dash[p[s.dash_by]]; }
      if (s.radius_by === 'n') { o.radius = Math.min(18, 4 + 3.5 * Math.log10((p.n || 1) + 1)); }
      else if (s.radius_by && p[s.radius_by] > 0) {
        o.radius = Math.max(2, Math.min(14, 1.6 * Math.log10(p[s.radius_by] + 1)));
      }
      return o;
    }
    function details(p, key) {
      var s = S[key] || {}, div = document.createElement('div');
      div.className = 'cimic-popup';
      var h = document.createElement('div');
      h.style.fontWeight = 'bold';
      h.textContent = (p.name !== undefined ? p.name : s.title) + '';
      div.appendChild(h);
      var sub = document.createElement('div');
      sub.style.color = '#555';
      sub.textContent = s.title + (p.id !== undefined ? ' · ' + p.id : '');
      div.appendChild(sub);
      var t = document.createElement('table');
      (s.fields || []).forEach(function (fl) {
        var v = p[fl[0]];
        if (v === undefined || v === null || v === '') { return; }
        var tr = t.insertRow(), th = document.createElement('th');
        th.style.textAlign = 'left'; th.style.paddingRight = '6px';
        th.textContent = fl[1]; tr.appendChild(th);
        tr.insertCell().textContent = (typeof v === 'number' ? v.toLocaleString('en') : v + '');
      });
      div.appendChild(t);
      return div;
    }
    function fmt(v, k) {
      if (typeof v === 'number') {
        v = (k === 'area_km2' ? v.toFixed(1) : v.toLocaleString('en'));
      }
      return v + (UNITS[k] || '');
    }
    function tip(p, key) {
      var s = S[key] || {}, parts = [];
      (s.tip || ['name']).forEach(function (k) {
        if (p[k] !== undefined && p[k] !== null && p[k] !== '') { parts.push(fmt(p[k], k)); }
      });
      if (p.n !== undefined) { parts = [fmt(p.n, 'n') + ' × ' + s.title + ' here; zoom in for details']; }
      return parts.join(' · ') || s.title;
    }
    function bind(f, layer, key) {
      var p = f.properties || {};
      if (layer.getLatLng && p.n === undefined) {
        var ll = layer.getLatLng();
        p.lat = Math.round(ll.lat * 1e5) / 1e5; p.lon = Math.round(ll.lng * 1e5) / 1e5;
      }
      layer.bindTooltip(function () {
        var d = document.createElement('span'); d.textContent = tip(p, key); return d;
      }, {sticky: true});
      layer.bindPopup(function () { return details(p, key); }, {maxWidth: 360});
      if (p.n !== undefined && layer.getLatLng) {
        // an aggregate cell: a click also zooms in on it (where its features are drawn)
        layer.on('click', function () {
          var m = layer._map; if (m) { m.setView(layer.getLatLng(), Math.min(m.getZoom() + 2, 18)); }
        });
      }
    }
    function point(f, latlng, key) {
      if ((S[key] || {}).marker === 'pin') { return L.marker(latlng); }
      return L.circleMarker(latlng, style(f, key));
    }
    // one layer of features; window.cimicLayers[key] is the one on the map (tests, the page)
    function layer(key, data) {
      var gj = L.geoJson(data, {
        pointToLayer: function (f, ll) { return point(f, ll, key); },
        style: function (f) { return style(f, key); },
        onEachFeature: function (f, l) { bind(f, l, key); }
      });
      gj.on('add', function () { window.cimicLayers[key] = gj; });
      gj.on('remove', function () { if (window.cimicLayers[key] === gj) { delete window.cimicLayers[key]; } });
      window.cimicLayers[key] = gj;
      return gj;
    }
    window.cimicLayers = window.cimicLayers || {};
    return {style: style, bind: bind, point: point, details: details, tip: tip, layer: layer, styles: S};
  }

  window.cimicCop = window.cimicCop || {};
  window.cimicCop.helpers = helpers;
})();
