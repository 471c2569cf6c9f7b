/*
 * Render APP-6 symbols with milsymbol (Node.js) for the PNG/PDF brief: reads a JSON list of SIDCs
 * on stdin, writes {"milsymbol": version, "symbols": {SIDC: SVG}} on stdout. Run by
 *   python -m cimic_geo.maps.assets symbols
 * which writes cimic_geo/maps/app6_symbols.json (kept with the package: the brief needs no Node).
 */
'use strict';
const ms = require('milsymbol');
const version = require('milsymbol/package.json').version;
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const out = {};
  JSON.parse(input).forEach((code) => { out[code] = new ms.Symbol(code, {size: 30}).asSVG(); });
  process.stdout.write(JSON.stringify({milsymbol: version, symbols: out}, null, 0) + '\n');
});
