/*
 * COP map layers in the browser: styling, tooltips and popups of the features of each layer.
 *
 * Loaded (served or inlined) before the map's own script, which calls
 *   window.cimicMap = cimicCop.helpers(STYLES);     // once per map, STYLES from maps/cop_map.py
 *   var layer = window.cimicMap.layer(KEY, GEOJSON, DIGEST, GROUP); // once per layer and rerun
 * with STYLES, KEY and DIGEST as JSON (<, >, & escaped) and GEOJSON as a string holding that JSON (parsed
 * with JSON.parse, only when the layer is built: a multi-MB object literal costs the browser far more to
 * parse and compile than a string, and a kept layer's data is never parsed). A layer whose DIGEST is the
 * one it had on the previous rerun is kept as it was drawn, not rebuilt. A layer whose GEOJSON has a
 * "goto" member ({n, zoom}: the search pin) moves the map to its point once per n, without animation.
 *
 * In the app (streamlit-folium's component) the layers are drawn on the map itself and GROUP only marks
 * the rerun: the component removes the previous rerun's groups before it runs the new script, and a
 * kept layer (tens of thousands of features at national scale) stays drawn instead of being removed and
 * added again; after the rerun's script, layers it did not send are removed and the canvas order is the
 * script's. The map also reports the view a zoom animation goes to when it starts (the component reports
 * it a quarter second after the animation ended), so the server reads the new view meanwhile.
 * Text from the data is only ever written with textContent (never as HTML), so markup, script and
 * template syntax in names stay text.
 */
(function () {
  'use strict';
  var UNITS = {area_km2: ' km²', n: ''};
  var COORD = {lat: 1, lon: 1};  // shown with 5 decimals (~1 m), like the MGRS beside them

  // vertices of a marker shape of "radius" r around the pixel point p
  function shapePoints(shape, p, r) {
    if (shape === 'square') { r *= 0.9; return [[p.x - r, p.y - r], [p.x + r, p.y - r], [p.x + r, p.y + r], [p.x - r, p.y + r]]; }
    if (shape === 'triangle') { r *= 1.2; return [[p.x, p.y - r], [p.x + r * 0.95, p.y + r * 0.7], [p.x - r * 0.95, p.y + r * 0.7]]; }
    if (shape === 'diamond') { r *= 1.15; return [[p.x, p.y - r], [p.x + r, p.y], [p.x, p.y + r], [p.x - r, p.y]]; }
    return null;
  }
  // a circle marker drawn as another shape (canvas or SVG renderer); hit-testing stays the circle's
  var ShapeMarker = L.CircleMarker.extend({
    _updatePath: function () {
      var pts = shapePoints(this.options.shape, this._point, Math.max(Math.round(this._radius), 1));
      if (!pts) { return L.CircleMarker.prototype._updatePath.call(this); }
      var r = this._renderer;
      if (L.Canvas && r instanceof L.Canvas) {
        if (!r._drawing || this._empty()) { return; }
        var ctx = r._ctx;
        ctx.beginPath();
        pts.forEach(function (q, i) { if (i) { ctx.lineTo(q[0], q[1]); } else { ctx.moveTo(q[0], q[1]); } });
        ctx.closePath();
        r._fillStroke(ctx, this);
      } else {
        r._setPath(this, 'M' + pts.map(function (q) { return q[0] + ',' + q[1]; }).join('L') + 'z');
      }
    }
  });

  // a marker placed with a 2D translate: Leaflet's translate3d makes each marker a compositing layer of
  // its own, and with hundreds of labels and count badges the browser re-layers them all at every frame
  // the page draws (each step of the time slider draws dozens)
  function place(el, pos) {
    el._leaflet_pos = pos;
    el.style.transform = 'translate(' + pos.x + 'px,' + pos.y + 'px)';
  }
  var FlatMarker = L.Marker.extend({
    _setPos: function (pos) {
      if (this._icon) { place(this._icon, pos); }
      if (this._shadow) { place(this._shadow, pos); }
      this._zIndex = pos.y + this.options.zIndexOffset;
      this._resetZIndex();
    }
  });
  function marker(latlng, options) { return new FlatMarker(latlng, options); }

  // APP-6 symbols (milsymbol, when loaded and switched on): one cached SVG per SIDC
  var symbolCache = {};
  function sidcFor(p, t) {
    var ent = (t.entity_by && t.entities[p[t.entity_by]]) || t.default;
    var st = (t.status_by && t.status[p[t.status_by]]) || '0';
    return '1003' + ent.slice(0, 2) + st + '000' + ent.slice(2) + '0000';
  }
  function symbolIcon(code) {
    if (!symbolCache[code]) {
      var sym = new window.ms.Symbol(code, {size: 13});
      symbolCache[code] = {el: sym.asDOM(), size: sym.getSize(), anchor: sym.getAnchor()};
    }
    var c = symbolCache[code], box = document.createElement('div');
    box.appendChild(c.el.cloneNode(true));
    box.setAttribute('data-sidc', code);
    return L.divIcon({html: box, className: 'cimic-symbol', iconSize: [c.size.width, c.size.height],
                      iconAnchor: [c.anchor.x, c.anchor.y]});
  }

  function helpers(S) {
    // interface text and number locale, translated by the page (S._ui): no visible text in this file
    var UI = S._ui || {};
    function style(f, key) {
      var s = S[key] || {}, p = f.properties || {}, o = Object.assign({}, s.base || {});
      if (s.style_by && s.variants && s.variants[p[s.style_by]]) { Object.assign(o, s.variants[p[s.style_by]]); }
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
        tr.insertCell().textContent = fmt(v, fl[0]);
      });
      div.appendChild(t);
      return div;
    }
    function fmt(v, k) {
      if (typeof v === 'number') {
        v = (COORD[k] ? v.toFixed(5) : (k === 'area_km2' ? v.toFixed(1) : v.toLocaleString(UI.locale || undefined)));
      }
      return v + (UNITS[k] || '');
    }
    // "name — status: open · capacity: 224": every value but the name with its label
    function tip(p, key) {
      var s = S[key] || {}, parts = [], labels = {}, head = '';
      (s.fields || []).forEach(function (fl) { labels[fl[0]] = fl[1]; });
      (s.tip || ['name']).forEach(function (k) {
        if (p[k] === undefined || p[k] === null || p[k] === '') { return; }
        if (k === 'name' || k === 'label') { head = fmt(p[k], k); return; }
        var v = fmt(p[k], k);
        parts.push((labels[k] || k.replace(/_/g, ' ')).toLowerCase() + ': ' +
                   (typeof p[k] === 'string' ? v.replace(/_/g, ' ') : v));
      });
      if (head) { parts = [head + (parts.length ? ' — ' + parts.join(' · ') : '')]; }
      if (p.n !== undefined) {
        parts = [(UI.aggregate || '{n} × {title}').split('{n}').join(fmt(p.n, 'n')).split('{title}').join(s.title)];
      }
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
    function label(f, latlng) {
      var p = f.properties || {}, el = document.createElement('span'), pop = p.population || 0;
      var field = (S.labels || {}).name_field;
      el.textContent = ((field && p[field]) || p.name || '') + '';
      el.style.fontSize = (pop >= 500000 ? 14 : pop >= 100000 ? 12.5 : pop >= 20000 ? 11.5 : 10.5) + 'px';
      el.style.cssText += ';white-space:nowrap;color:#263238;font-family:sans-serif;' +
        'text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff';
      if (pop >= 100000) { el.style.fontWeight = 'bold'; }
      // in the tooltip pane: names stay readable above markers and count badges
      return marker(latlng, {icon: L.divIcon({html: el, className: 'cimic-label', iconSize: null,
                                                iconAnchor: [-4, 8]}),
                               interactive: false, keyboard: false, pane: 'tooltipPane'});
    }
    function count(f, latlng, key) {
      var s = S[key] || {}, n = (f.properties || {}).n || 0, el = document.createElement('div');
      var d = Math.round(Math.min(32, 16 + 4 * Math.log10(n + 1)));
      el.textContent = n >= 10000 ? Math.round(n / 1000) + 'k' : n >= 1000 ? (n / 1000).toFixed(1) + 'k' : n + '';
      el.style.cssText = 'width:' + d + 'px;height:' + d + 'px;line-height:' + d + 'px;border-radius:50%;' +
        'text-align:center;font:bold 10px sans-serif;color:#fff;border:1.5px solid #fff;' +
        'box-shadow:0 0 0 1px #263238;opacity:0.9;background:' + (s.count_color || '#546e7a');
      return marker(latlng, {icon: L.divIcon({html: el, className: 'cimic-count', iconSize: [d, d]})});
    }
    function point(f, latlng, key) {
      var s = S[key] || {};
      if (s.marker === 'pin') { return marker(latlng); }
      if (s.marker === 'label') { return label(f, latlng); }
      if (s.marker === 'count') { return count(f, latlng, key); }
      if (s.sidc && window.cimicSymbols && window.ms) {
        return marker(latlng, {icon: symbolIcon(sidcFor(f.properties || {}, s.sidc))});
      }
      var o = style(f, key);
      if (s.shape) { o.shape = s.shape; }
      if (s.radius) { o.radius = s.radius; }
      return new ShapeMarker(latlng, o);
    }
    // the last layer built for each key and the digest of its data: a rerun that sends the same data
    // again (the basemap, or a layer the time step did not change) gets the same layer back, already
    // styled and bound, instead of a new one built feature by feature
    var built = {};
    // the rerun being drawn in the app: the keys it sent (bottom to top) and those it added to the map
    var rerun = null;
    function parse(data) { return typeof data === 'string' ? JSON.parse(data) : data; }
    // streamlit-folium's component (the app page), not a standalone map
    function inApp(parent) {
      return !!(parent && window.__GLOBAL_DATA__ && window.map && parent instanceof L.LayerGroup);
    }
    // one layer of features; window.cimicLayers[key] is the one on the map (tests, the page).
    // data: GeoJSON (an object, or its JSON text); digest (optional): a digest of data, computed by the
    // server; parent (optional): the group to add it to
    function layer(key, data, digest, parent) {
      if (digest && inApp(parent)) { watchZoom(window.map); return drawn(key, data, digest, parent); }
      var kept = digest ? built[key] : null;
      if (kept && kept.digest === digest) {
        if (kept.parent && kept.parent !== parent) { kept.parent.removeLayer(kept.layer); }
        kept.parent = parent || null;
        window.cimicLayers[key] = kept.layer;
        return parent ? kept.layer.addTo(parent) : kept.layer;
      }
      data = parse(data);
      var gj = build(key, data);
      if (digest) { built[key] = {digest: digest, layer: gj, parent: parent || null}; }
      if (data && data.goto) { goTo(gj, data); }
      return parent ? gj.addTo(parent) : gj;
    }
    // the app: the layer drawn on the map itself (kept there while its digest stays the same)
    function drawn(key, data, digest, parent) {
      var map = window.map, kept = built[key], gj;
      parent.once('remove', nextRerun);  // the component removes this group when the next rerun comes
      if (kept && kept.digest === digest) {
        gj = kept.layer;
      } else {
        if (kept && kept.layer._map) { kept.layer.remove(); }
        data = parse(data);
        gj = build(key, data);
        built[key] = {digest: digest, layer: gj, parent: null};
        if (data && data.goto) { goTo(gj, data); }
      }
      if (rerun) { rerun.keys.push(key); }
      if (!map.hasLayer(gj)) {
        if (rerun) { rerun.added[key] = true; }
        gj.addTo(map);
      }
      window.cimicLayers[key] = gj;
      return gj;
    }
    // a rerun's script runs in one task: what it did not send is removed once it is over (a microtask)
    function nextRerun() {
      if (rerun) { return; }
      rerun = {keys: [], added: {}};
      Promise.resolve().then(finishRerun);
    }
    function finishRerun() {
      var keys = rerun.keys, added = rerun.added;
      rerun = null;
      Object.keys(built).forEach(function (k) {
        if (keys.indexOf(k) < 0 && built[k].layer._map) { built[k].layer.remove(); }
      });
      // the shared canvas draws in the order paths were added: layers added by this rerun went on top of
      // those kept (and the component's other groups on top of all); up to the last added layer that
      // belongs below a kept one, send each to the back, top one first, so they end in the script's order
      var last = -1;
      keys.forEach(function (k, i) {
        if (added[k] && keys.slice(i + 1).some(function (j) { return !added[j]; })) { last = i; }
      });
      for (var i = last; i >= 0; i--) { built[keys[i]].layer.bringToBack(); }
    }
    // the view a zoom animation goes to, reported when it starts, as streamlit-folium reports a view
    // (same value: its own report after the animation then finds nothing new and sends nothing)
    var watched = null;
    function watchZoom(map) {
      var g = window.__GLOBAL_DATA__;
      if (watched === map || !g || g.wrap_longitude || !window.Streamlit || !Array.isArray(g.returned_objects)) {
        return;
      }
      watched = map;
      map.on('zoomanim', function (e) {
        var pb = map.getPixelBounds(e.center, e.zoom);
        var bounds = L.latLngBounds(map.unproject(pb.getBottomLeft(), e.zoom), map.unproject(pb.getTopRight(), e.zoom));
        // streamlit-folium's value, in its order of keys
        var all = [['last_clicked', g.lat_lng_clicked], ['last_object_clicked', g.last_object_clicked],
          ['last_object_clicked_count', g.last_object_clicked_count],
          ['last_object_clicked_tooltip', g.last_object_clicked_tooltip],
          ['last_object_clicked_popup', g.last_object_clicked_popup], ['all_drawings', g.all_drawings],
          ['last_active_drawing', g.last_active_drawing], ['last_geocoder_result', g.last_geocoder_result],
          ['bounds', bounds], ['zoom', e.zoom], ['last_circle_radius', g.last_circle_radius],
          ['last_circle_polygon', g.last_circle_polygon], ['center', e.center],
          ['selected_layers', Object.values(g.selected_layers || {})], ['selected_tags', g.selected_tags]];
        var value = {};
        all.forEach(function (kv) { if (g.returned_objects.indexOf(kv[0]) >= 0) { value[kv[0]] = kv[1]; } });
        if (JSON.stringify(value) !== JSON.stringify(g.previous_data)) {
          g.previous_data = value;
          window.Streamlit.setComponentValue(value);
        }
      });
    }
    // a found place (the search pin) carries {goto: {n, zoom}}: the map moves to its first point once per n,
    // when the layer is added to the map (the server has read that view already: the same run sent it)
    var wentTo = null;
    function goTo(gj, data) {
      var f = (data.features || [])[0], n = data.goto.n;
      if (!f || !f.geometry || f.geometry.type !== 'Point' || n === wentTo) { return; }
      wentTo = n;
      var c = f.geometry.coordinates;
      // at once, not animated: the layers of the place's view come with the pin, and a zoom animation from the
      // old view would only scale the old layers for a quarter of a second before they are drawn
      gj.once('add', function () { if (gj._map) { gj._map.setView([c[1], c[0]], data.goto.zoom, {animate: false}); } });
    }
    function build(key, data) {
      var s = S[key] || {}, live = s.interactive !== false;
      var gj = L.geoJson(data, {
        interactive: live,
        pointToLayer: function (f, ll) { return point(f, ll, key); },
        style: function (f) { return style(f, key); },
        onEachFeature: function (f, l) { if (live) { bind(f, l, key); } }
      });
      gj._cimicData = data;
      gj.on('add', function () { window.cimicLayers[key] = gj; });
      gj.on('remove', function () { if (window.cimicLayers[key] === gj) { delete window.cimicLayers[key]; } });
      window.cimicLayers[key] = gj;
      return gj;
    }
    // redraw the point layers with APP-6 symbols (on) or the plain shapes (off)
    function setSymbols(on) {
      window.cimicSymbols = !!on;
      Object.keys(window.cimicLayers).forEach(function (k) {
        var gj = window.cimicLayers[k];
        if ((S[k] || {}).sidc && gj._cimicData) { gj.clearLayers(); gj.addData(gj._cimicData); }
      });
    }
    window.cimicLayers = window.cimicLayers || {};
    return {style: style, setSymbols: setSymbols, bind: bind, point: point, details: details, tip: tip, layer: layer, styles: S};
  }

  window.cimicCop = window.cimicCop || {};
  window.cimicCop.helpers = helpers;
})();
