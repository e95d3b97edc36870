// The client is compiled from its source (../../client/src) with the app: no separate build or install of
// client/ is needed. Its one runtime dependency, openapi-fetch, is this app's own copy (resolve.dedupe looks it
// up from here, not from client/node_modules); package.json pins the client's version of it.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const clientSource = fileURLToPath(new URL("../../client/src", import.meta.url));

export default defineConfig({
  resolve: {
    alias: { "@foodbroker/crm-client": `${clientSource}/index.ts` },
    dedupe: ["openapi-fetch"],
  },
  server: { fs: { allow: [".", clientSource] } },
  build: { sourcemap: true },
});
