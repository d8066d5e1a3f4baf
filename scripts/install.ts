/**
 * `deno run -A scripts/install.ts [--root DIR] [--name NAME]`: puts a `ca-rotator` command in
 * DIR/bin (default: ~/.deno/bin, as `deno install -g`) that runs this checkout with every npm
 * package at the version its deno.lock holds — `deno run --lock … --frozen`, so a package the lock
 * does not pin is an error, never a newer version. (`deno install -g` resolves the dependencies'
 * own dependencies anew when the command first runs, whatever the lock says.) The command runs
 * the checkout's code: a `git pull` there updates it. Paths on its command line stay the caller's.
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const checkout = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const arg = (name: string) => {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : undefined;
};
const home = Deno.env.get("HOME") ?? "/root";
const root = arg("--root") ?? Deno.env.get("DENO_INSTALL_ROOT") ?? join(home, ".deno");
const name = arg("--name") ?? "ca-rotator";
const quote = (text: string) => `'${text.replaceAll("'", `'"'"'`)}'`;
const target = join(root, "bin", name);
await Deno.mkdir(join(root, "bin"), { recursive: true });
await Deno.writeTextFile(
  target,
  [
    "#!/bin/sh",
    `# ca-rotator from ${checkout}, every package at its deno.lock's version (scripts/install.ts)`,
    `exec deno run --allow-all --config ${quote(`${checkout}/deno.json`)} --lock ${
      quote(`${checkout}/deno.lock`)
    } --frozen ${quote(`${checkout}/main.ts`)} "$@"`,
    "",
  ].join("\n"),
);
await Deno.chmod(target, 0o755);
console.error(`installed ${target} (runs ${checkout}; add ${join(root, "bin")} to PATH)`);
