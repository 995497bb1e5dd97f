// Calls test.Echo through a Link Bridge broker's proxy, as any gRPC client in another language would,
// and prints one JSON line per call for NonJavaCallerTest to check. Usage: node caller.js host:port
'use strict';
const grpc = require('@grpc/grpc-js');

const broker = process.argv[2];
const client = new grpc.Client(broker, grpc.credentials.createInsecure());
const text = {
  serialize: (s) => Buffer.from(s, 'utf8'),
  deserialize: (b) => b.toString('utf8'),
};
const deadline = () => new Date(Date.now() + 5000);
const report = (what, fields) => console.log(JSON.stringify({ call: what, ...fields }));

function unary(what, path, request, metadata) {
  return new Promise((resolve) => {
    let headers = {};
    const call = client.makeUnaryRequest(path, text.serialize, text.deserialize, request, metadata, { deadline: deadline() },
      (err, answer) => {
        if (err) {
          report(what, { code: grpc.status[err.code], details: err.details });
        } else {
          report(what, { code: 'OK', answer, header: headers['x-echo'] });
        }
        resolve();
      });
    call.on('metadata', (m) => { headers = m.getMap(); });
  });
}

function serverStream(what, n) {
  return new Promise((resolve) => {
    const got = [];
    const call = client.makeServerStreamRequest('/test.Echo/ServerStream', text.serialize, text.deserialize, String(n),
      new grpc.Metadata(), { deadline: deadline() });
    call.on('data', (m) => got.push(m));
    call.on('status', (s) => { report(what, { code: grpc.status[s.code], messages: got.length }); resolve(); });
    call.on('error', () => {});
  });
}

(async () => {
  const m = new grpc.Metadata();
  m.set('x-test', 'from-node');
  await unary('unary', '/test.Echo/Unary', 'hello', m);
  await unary('refused', '/test.Echo/Unary', 'fail', new grpc.Metadata());
  await unary('unknown', '/no.Such/Method', 'x', new grpc.Metadata());
  await serverStream('stream', 50);
  client.close();
})();
