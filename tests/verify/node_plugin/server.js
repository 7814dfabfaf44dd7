// A Prism plugin in Node.js (@grpc/grpc-js): keyvalue_basic and keyvalue_scan over an in-memory
// Map, the plugin lifecycle and the gRPC health service. It exists to prove that prism-verify
// certifies a plugin written in another language than the framework.
//
// Protocol (README "How a cell runs"): bind 127.0.0.1 on an ephemeral port, print
// `PRISM_PLUGIN|1|tcp|127.0.0.1:<port>|grpc` on stdout, exit when stdin closes. Health is
// NOT_SERVING until Initialize. Every service not served here answers UNIMPLEMENTED (grpc-js does
// that for unknown services).
//
// The .proto files are read at run time from $PRISM_PROTO_DIR (default: the repository's proto/).
// PRISM_NODEKV_BUG=<name> makes a deliberately wrong variant (see BUGS), for the test that
// prism-verify fails it.
"use strict";

const path = require("path");
const { TextDecoder } = require("util");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const { Reader } = require("protobufjs/minimal");

const NAME = "nodekv";
const VERSION = "0.1.0";
const INTERFACES = ["keyvalue_basic", "keyvalue_scan"];
const MAX_NAME_BYTES = 1024; // a namespace or key, in UTF-8 bytes
const MAX_VALUE_BYTES = 1024 * 1024; // the registry file declares the same limit
const BUGS = {
  "delete-always-found": "Delete reports found=true for a missing key",
  "glob-prefix": "Scan, ScanKeys and Count treat * and ? in the prefix as wildcards",
};

const bug = process.env.PRISM_NODEKV_BUG || "";
if (bug && !(bug in BUGS)) {
  process.stderr.write(`PRISM_NODEKV_BUG=${bug}: use one of ${Object.keys(BUGS).join(", ")}\n`);
  process.exit(2);
}

const protoDir = process.env.PRISM_PROTO_DIR || path.join(__dirname, "..", "..", "..", "proto");
const definition = protoLoader.loadSync(
  ["prism/keyvalue/v1/keyvalue.proto", "prism/plugin/v1/lifecycle.proto", "health.proto"],
  { includeDirs: [protoDir, __dirname], keepCase: true, longs: String, enums: String, defaults: true },
);
const loaded = grpc.loadPackageDefinition(definition);

// namespace -> (key -> Buffer)
const data = new Map();
let initialized = false;

class Invalid extends Error {}

function requireName(field, value) {
  if (!value) throw new Invalid(`${field} must be a non-empty string`);
  const size = Buffer.byteLength(value, "utf8");
  if (size > MAX_NAME_BYTES) throw new Invalid(`${field} is ${size} bytes, more than max_name_bytes=${MAX_NAME_BYTES}`);
}

function space(namespace, create) {
  let found = data.get(namespace);
  if (!found && create) {
    found = new Map();
    data.set(namespace, found);
  }
  return found;
}

// protobufjs decodes invalid UTF-8 in a string field as U+FFFD, so two different namespaces
// could read as one; proto3 says such a request does not decode. Each method's deserializer
// checks its string fields first (these requests are flat) and marks a request that fails.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const UNDECODABLE = Symbol("undecodable");

function refusingInvalidUtf8(method) {
  const strings = new Set(method.requestType.type.field.filter((f) => f.type === "TYPE_STRING").map((f) => f.number));
  const decode = method.requestDeserialize;
  method.requestDeserialize = (bytes) => {
    const reader = Reader.create(bytes);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (strings.has(tag >>> 3) && (tag & 7) === 2) {
        try {
          strictUtf8.decode(reader.bytes());
        } catch (e) {
          return { [UNDECODABLE]: `field ${tag >>> 3} is not valid UTF-8` };
        }
      } else {
        reader.skipType(tag & 7);
      }
    }
    return decode(bytes);
  };
}
for (const name of Object.keys(definition)) {
  if (definition[name].format === undefined) Object.values(definition[name]).forEach(refusingInvalidUtf8);
}

function undecodable(request) {
  return request[UNDECODABLE] ? new Invalid(`the request does not decode: ${request[UNDECODABLE]}`) : null;
}

// A unary handler: validation errors are INVALID_ARGUMENT, anything else INTERNAL (a bug).
function unary(handler) {
  return (call, callback) => {
    try {
      const refused = undecodable(call.request);
      if (refused) throw refused;
      callback(null, handler(call.request));
    } catch (e) {
      callback({ code: e instanceof Invalid ? grpc.status.INVALID_ARGUMENT : e.code || grpc.status.INTERNAL, details: e.message });
    }
  };
}

function notFound(what) {
  const e = new Error(`${what} not found`);
  e.code = grpc.status.NOT_FOUND;
  return e;
}

function globMatches(prefix, key) {
  const pattern = prefix.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${pattern}`, "s").test(key);
}

function matching(request) {
  requireName("namespace", request.namespace);
  const limit = BigInt(request.limit || "0");
  if (limit < 0n) throw new Invalid(`limit is ${limit}, must be >= 0 (0 is unlimited)`);
  const prefix = request.prefix || "";
  const matches = bug === "glob-prefix" ? (key) => globMatches(prefix, key) : (key) => key.startsWith(prefix);
  const out = [];
  for (const [key, value] of space(request.namespace, false) || []) {
    if (limit > 0n && BigInt(out.length) >= limit) break;
    if (matches(key)) out.push([key, value]);
  }
  return out;
}

function streaming(toMessage) {
  return (call) => {
    let entries;
    try {
      const refused = undecodable(call.request);
      if (refused) throw refused;
      entries = matching(call.request);
    } catch (e) {
      call.emit("error", { code: e instanceof Invalid ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: e.message });
      return;
    }
    for (const [key, value] of entries) call.write(toMessage(key, value));
    call.end();
  };
}

const keyValueBasic = {
  Set: unary(({ namespace, key, value }) => {
    requireName("namespace", namespace);
    requireName("key", key);
    if (value.length > MAX_VALUE_BYTES) throw new Invalid(`value is ${value.length} bytes, more than max_value_bytes=${MAX_VALUE_BYTES}`);
    space(namespace, true).set(key, Buffer.from(value));
    return {};
  }),
  Get: unary(({ namespace, key }) => {
    requireName("namespace", namespace);
    requireName("key", key);
    const value = space(namespace, false)?.get(key);
    if (value === undefined) throw notFound("key");
    return { value };
  }),
  Delete: unary(({ namespace, key }) => {
    requireName("namespace", namespace);
    requireName("key", key);
    const found = space(namespace, false)?.delete(key) || false;
    return { found: bug === "delete-always-found" ? true : found };
  }),
  Exists: unary(({ namespace, key }) => {
    requireName("namespace", namespace);
    requireName("key", key);
    return { exists: space(namespace, false)?.has(key) || false };
  }),
};

const keyValueScan = {
  Scan: streaming((key, value) => ({ key, value })),
  ScanKeys: streaming((key) => ({ key })),
  Count: unary((request) => ({ count: String(matching({ ...request, limit: "0" }).length) })),
};

const lifecycle = {
  GetInfo: unary(() => ({ name: NAME, version: VERSION, interfaces: INTERFACES })),
  Initialize: unary(({ settings }) => {
    if (!settings.url) throw new Invalid("settings.url is missing");
    initialized = true;
    return { backend_version: `node ${process.version} in-memory Map` };
  }),
  DropNamespace: unary(({ namespace }) => {
    data.delete(namespace);
    return {};
  }),
};

const health = {
  Check: unary(() => ({ status: initialized ? "SERVING" : "NOT_SERVING" })),
};

const server = new grpc.Server();
server.addService(loaded.prism.keyvalue.v1.KeyValueBasic.service, keyValueBasic);
server.addService(loaded.prism.keyvalue.v1.KeyValueScan.service, keyValueScan);
server.addService(loaded.prism.plugin.v1.PluginLifecycle.service, lifecycle);
server.addService(loaded.grpc.health.v1.Health.service, health);

const address = process.env.PRISM_NODEKV_ADDRESS || "127.0.0.1:0";
server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`cannot bind ${address}: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`PRISM_PLUGIN|1|tcp|127.0.0.1:${port}|grpc\n`);
  if (bug) process.stderr.write(`deliberately wrong variant: ${BUGS[bug]}\n`);
});

// The harness closes stdin to stop the plugin.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
