// Serves www/ on http://127.0.0.1:PORT (default 8080) with the right MIME types (application/wasm for
// streaming compilation). Static files only: the scorer needs no server-side code, and nothing is ever
// uploaded. Usage: node scripts/serve.mjs [--port N] [--root DIR]
import { createServer } from "node:http";
import { createReadStream, statSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const root = resolve(option("--root", join(fileURLToPath(import.meta.url), "../../www")));
const port = Number(option("--port", process.env.PORT || 8080));
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".wasm": "application/wasm", ".png": "image/png",
  ".svg": "image/svg+xml", ".wav": "audio/wav", ".sslpron": "application/octet-stream", ".md": "text/markdown; charset=utf-8",
};

export function serve(rootDir = root, listenPort = port) {
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = decodeURIComponent(new URL(req.url, "http://localhost").pathname);
    let file = normalize(join(rootDir, path));
    if (!file.startsWith(rootDir)) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, "index.html");
      const size = statSync(file).size;
      res.writeHead(200, { "content-type": TYPES[extname(file)] || "application/octet-stream", "content-length": size, "cache-control": "no-cache" });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}\n`);
    }
  });
  return new Promise((ok) => server.listen(listenPort, "127.0.0.1", () => ok(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await serve();
  console.log(`sslpron: serving ${root} at http://127.0.0.1:${server.address().port}/ (Ctrl-C stops)`);
}
