// Startup file for Phusion Passenger and LiteSpeed, and what `npm start` runs.
// Passenger require()s it, so it stays CommonJS and holds no logic: see src/main.ts.
require('./dist/main.js').start();
