// Writes the `go build -overlay` for kube-network-policies (called by
// scripts/setup-tools.sh): patched copies of the upstream files that build
// nftables `queue` verdicts, each now a call to nfqueueTarget (the xtables
// NFQUEUE target, nfqueue_target.go, added to the package). The kernel here
// has no nft_queue but accepts xtables targets in nftables rules. And one
// fix: with NRI off, a packet from a pod the informer does not know yet (a
// pod seconds old) made the controller ask the missing NRI plugin and crash
// on a nil pointer, which leaves the queue without a reader: every policed
// packet dropped until a restart. The lookup now answers "unknown" instead.
// Go refuses overlays of files in its module cache, so the overlay also
// gives our go.mod a `replace` of the module by <output dir>/src, a symlink
// to the module's folder in the cache, and replaces the files there.
// Usage: node patch.mjs <module dir> <our module dir> <output dir>
// Fails when upstream no longer matches: an unpatched queue verdict would
// make every rule fail to load.
import { copyFileSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const modulePath = "sigs.k8s.io/kube-network-policies";
const [moduleDir, ourDir, outDir] = process.argv.slice(2).map((dir) => resolve(dir));
const pkg = "pkg/networkpolicy";
const src = join(outDir, "src");
symlinkSync(moduleDir, src);

const patches = {
  // queue := &expr.Queue{Num: uint16(c.config.QueueID)}
  // if c.config.FailOpen {
  //         queue.Flag = expr.QueueFlagBypass
  // }
  "controller.go": [
    {
      pattern:
        /queue := &expr\.Queue\{Num: (uint16\(c\.config\.QueueID\))\}\n\s*if c\.config\.FailOpen \{\n\s*queue\.Flag = expr\.QueueFlagBypass\n\s*\}/g,
      replace: (_, num) => `queue := nfqueueTarget(${num}, c.config.FailOpen)\n\n\n`,
      count: 2,
    },
  ],
  // func (p *nriPlugin) GetPodFromIP(ip string) string {
  "nri.go": [
    {
      pattern: /func \(p \*nriPlugin\) GetPodFromIP\(ip string\) string \{\n/g,
      replace: (line) => `${line}\tif p == nil {\n\t\treturn ""\n\t}\n`,
      count: 1,
    },
  ],
  // &expr.Queue{Num: uint16(n.nfQueueID), Flag: expr.QueueFlagBypass},
  "dnsagent.go": [
    {
      pattern: /&expr\.Queue\{Num: (uint16\(n\.nfQueueID\)), Flag: expr\.QueueFlagBypass\}/g,
      replace: (_, num) => `nfqueueTarget(${num}, true)`,
      count: 1,
    },
  ],
};

const fail = (message) => {
  console.error(`kube-network-policies overlay: ${message} (has upstream changed? see ${import.meta.url})`);
  process.exit(1);
};

const replace = {};
for (const [file, subs] of Object.entries(patches)) {
  let text = readFileSync(join(moduleDir, pkg, file), "utf8");
  for (const { pattern, replace: by, count } of subs) {
    const found = text.match(pattern)?.length ?? 0;
    if (found !== count) fail(`${file}: ${pattern} matched ${found} times, expected ${count}`);
    text = text.replace(pattern, by);
  }
  writeFileSync(join(outDir, file), text);
  replace[join(src, pkg, file)] = join(outDir, file);
}
// No queue verdict may be left anywhere in the package.
const goFiles = readdirSync(join(moduleDir, pkg)).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"));
for (const file of goFiles) {
  const text = readFileSync(replace[join(src, pkg, file)] ?? join(moduleDir, pkg, file), "utf8");
  if (text.includes("expr.Queue")) fail(`${file} still builds an nftables queue verdict`);
}
const helper = "nfqueue_target.go";
copyFileSync(join(dirname(fileURLToPath(import.meta.url)), helper), join(outDir, helper));
replace[join(src, pkg, `zz_golive_${helper}`)] = join(outDir, helper);
const goMod = readFileSync(join(ourDir, "go.mod"), "utf8");
writeFileSync(join(outDir, "go.mod"), `${goMod}\nreplace ${modulePath} => ${src}\n`);
replace[join(ourDir, "go.mod")] = join(outDir, "go.mod");
writeFileSync(join(outDir, "overlay.json"), `${JSON.stringify({ Replace: replace }, null, 2)}\n`);
