// The second, independent verifier of a received webhook: the official
// Standard Webhooks implementation for TypeScript (npm standardwebhooks,
// pinned by build/webhooks/package-lock.json).
//
//   node webhook_verify.js <folder with node_modules> < request.json
//
// request.json: {"secret": "whsec_...", "headers": {...}, "body_b64": "..."}.
// Prints "ok" when Webhook(secret).verify(body, headers) accepts it (which
// also checks the timestamp is within 5 minutes of now), else the error.
'use strict';
const path = require('path');
const fs = require('fs');

const dir = process.argv[2];
const { Webhook } = require(path.join(dir, 'node_modules', 'standardwebhooks'));
const req = JSON.parse(fs.readFileSync(0, 'utf8'));
const body = Buffer.from(req.body_b64, 'base64');
try {
    new Webhook(req.secret.trim()).verify(body, req.headers);
    console.log('ok');
} catch (e) {
    console.log(`not verified: ${e.message}`);
}
