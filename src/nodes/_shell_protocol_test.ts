import assert from "node:assert/strict";
import { parseListing, shellQuote, writeFailure } from "./_shell_protocol.ts";

Deno.test("shellQuote quotes what a shell would split or expand", () => {
  assert.equal(shellQuote("/etc/kubernetes/pki/ca.crt"), "/etc/kubernetes/pki/ca.crt");
  assert.equal(shellQuote("it's $HOME"), `'it'\\''s $HOME'`);
});

Deno.test("parseListing reads a directory listing: files with their text, others by name", () => {
  const b64 = (text: string) => btoa(text);
  const listing = parseListing(
    ["D", `F ${b64("ca.crt")} ${b64("PEM\n")}`, `F ${b64("empty")} `, `O ${b64("big.bin")}`, ""]
      .join("\n"),
  );
  assert.equal(listing.exists, true);
  assert.deepEqual([...listing.files], [["ca.crt", "PEM\n"], ["empty", ""]]);
  assert.deepEqual([...listing.others], ["big.bin"]);
  assert.equal(parseListing("").exists, false, "no D line: the directory does not exist");
});

Deno.test("writeFailure names the file a write script failed on and keeps the rest", () => {
  const failure = writeFailure("mv: cannot move\nca-rotator-failed:/etc/a b\nmore\n");
  assert.equal(failure.path, "/etc/a b");
  assert.equal(failure.stderr, "mv: cannot move\nmore\n");
  assert.equal(writeFailure("ssh: connect refused").path, undefined);
});
