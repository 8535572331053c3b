// The builder page's entry point: reads the page's configuration (a JSON data block, so the page
// needs no inline script) and starts the builder.
import { Builder } from "./ui/builder.js";

const root = document.getElementById("ab-builder");
const config = JSON.parse(document.getElementById("ab-builder-config").textContent);
new Builder(root, config).start();
