// The cold start's floor: a bare node:http server answering GET /hello with the API's bytes
// and nothing else (no framework, no config, no log). `node bare-node.cjs <socket path>`; stops
// on SIGTERM. Used by bench/lib/cold.ts.
'use strict';
const http = require('node:http');

const body = Buffer.from('{"message":"Hello, World!"}');
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/hello') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  } else {
    res.writeHead(404, { 'content-length': 0 }).end();
  }
});
server.listen(process.argv[2]);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
