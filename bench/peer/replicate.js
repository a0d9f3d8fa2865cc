// The CouchDB-style peer of the benchmarks (bench/couch.py runs it).
//
//   node replicate.js serve DIR
//       express-pouchdb over PouchDB (LevelDB files in DIR) on a free loopback port;
//       prints {"port": N} on one line, then serves until it is stopped.
//   node replicate.js push DIR DOCS.jsonl URL BATCH
//       loads the documents (one JSON object a line) into a local PouchDB in DIR (not
//       timed), then replicates it to the database at URL in batches of BATCH and prints
//       {"docs": written, "seconds": replication time, "local": documents loaded}. The
//       remote database is made (and its first answer awaited) before the clock starts.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");
const readline = require("readline");
const PouchDB = require("pouchdb");

async function serve(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const Local = PouchDB.defaults({ prefix: dir + path.sep });
  const app = require("express-pouchdb")(Local, {
    mode: "minimumForPouchDB",
    inMemoryConfig: true,
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 60000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

async function readDocs(file) {
  const docs = [];
  const lines = readline.createInterface({ input: fs.createReadStream(file, "utf8") });
  for await (const line of lines) {
    if (line.trim()) docs.push(JSON.parse(line));
  }
  return docs;
}

async function push(dir, file, url, batch) {
  fs.mkdirSync(dir, { recursive: true });
  const local = new PouchDB(path.join(dir, "source"));
  const docs = await readDocs(file);
  for (let i = 0; i < docs.length; i += 500) {
    const answers = await local.bulkDocs(docs.slice(i, i + 500));
    const bad = answers.find((a) => a.error);
    if (bad) throw new Error("local load refused a document: " + JSON.stringify(bad));
  }
  const remote = new PouchDB(url);
  await remote.info();
  const t0 = process.hrtime.bigint();
  const result = await PouchDB.replicate(local, remote, { batch_size: batch });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (result.status !== "complete" || result.doc_write_failures) {
    throw new Error("replication incomplete: " + JSON.stringify(result));
  }
  process.stdout.write(
    JSON.stringify({ docs: result.docs_written, seconds: seconds, local: docs.length }) + "\n",
  );
}

const [mode, ...rest] = process.argv.slice(2);
const run =
  mode === "serve"
    ? serve(rest[0])
    : mode === "push"
      ? push(rest[0], rest[1], rest[2], parseInt(rest[3], 10))
      : Promise.reject(new Error("usage: replicate.js serve DIR | push DIR DOCS URL BATCH"));
run.catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  process.exit(1);
});
