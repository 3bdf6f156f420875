// Runs a Heap loader script (read from stdin) against a minimal fake browser and prints
// what it set up as JSON: {"appid", "config", "src"}.
"use strict";

const fs = require("node:fs");
const vm = require("node:vm");

const inserted = [];
const firstScript = {
  parentNode: {
    insertBefore(element, reference) {
      inserted.push(element);
    },
  },
};
const browser = {
  document: {
    createElement(tagName) {
      return { tagName };
    },
    getElementsByTagName(tagName) {
      return tagName === "script" ? [firstScript] : [];
    },
  },
};
browser.window = browser;

vm.runInNewContext(fs.readFileSync(0, "utf8"), browser, { timeout: 5000 });

const heap = browser.window.heap;
process.stdout.write(
  JSON.stringify({
    appid: heap.appid,
    config: heap.config,
    src: inserted.length === 1 ? inserted[0].src : null,
  }),
);
