import assert from "node:assert/strict";
import { firstWritesBetween, journalLine, parseJournal } from "./backup_journal.ts";
import { LocalNode } from "./local.ts";

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));

Deno.test("the journal gives each file's first write in a window; a torn last line is left out", () => {
  const text = [
    journalLine({ at: at(1).toISOString(), path: "/a", backup: "/b/a.1" }),
    journalLine({ at: at(2).toISOString(), path: "/new" }),
    journalLine({ at: at(3).toISOString(), path: "/a", backup: "/b/a.3" }),
    journalLine({ at: at(5).toISOString(), path: "/late", backup: "/b/late.5" }),
    '{"at":"2026-01-01T00:06',
  ].join("");
  const entries = parseJournal(text);
  assert.equal(entries.length, 4);
  assert.deepEqual(
    firstWritesBetween(entries, at(1), at(5)).map((entry) => [entry.path, entry.backup]),
    [["/a", "/b/a.1"], ["/new", undefined]],
  );
  assert.deepEqual(
    firstWritesBetween(entries, at(2), at(6)).map((entry) => [entry.path, entry.backup]),
    [["/new", undefined], ["/a", "/b/a.3"], ["/late", "/b/late.5"]],
  );
});

Deno.test("a local node journals its writes: filesAsOf gives what each file held, or that it did not exist", async () => {
  const root = await Deno.makeTempDir({ prefix: "ca-rotator-journal-" });
  try {
    const node = new LocalNode({ name: "cp-1", root, backupDir: "/var/lib/ca-rotator/backup" });
    await node.writeFile("/etc/kept", "before\n");
    await new Promise((resolve) => setTimeout(resolve, 5));
    const since = new Date();
    await node.writeFile("/etc/kept", "during 1\n");
    await node.writeFile("/etc/kept", "during 2\n");
    await node.writeFile("/etc/created", "new\n");
    await node.removeFile("/etc/never-there");
    await new Promise((resolve) => setTimeout(resolve, 5));
    const until = new Date();
    await node.writeFile("/etc/after", "later\n");
    const files = await node.filesAsOf(since, until);
    assert.deepEqual(files, [
      { path: "/etc/kept", content: "before\n" },
      { path: "/etc/created", content: undefined },
      { path: "/etc/never-there", content: undefined },
    ]);
    assert.deepEqual(await node.filesAsOf(until, new Date(Date.now() + 1000)), [
      { path: "/etc/after", content: undefined },
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
