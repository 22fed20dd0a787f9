// Runs Python under real MicroPython 1.27 (the WebAssembly port from npm) with the
// project's firmware/ package importable, as it would be on a register board.
//
//   node tools/mprun.mjs tests/firmware [more paths]   run portable test modules
//   node tools/mprun.mjs --run script.py [--lib DIR]... run one script (benchmarks); each
//                                                    DIR is importable as a package
//
// A portable test module is a tests/**/test_*.py file whose first line is "# micropython".
// Each of its functions named test_* is called with no arguments; the run ends with the
// line "N passed, N failed" and exits non-zero on any failure or when nothing ran.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const HEAP = 8 * 1024 * 1024;

function copyTree(mp, src, dst) {
  mp.FS.mkdirTree(dst);
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "__pycache__") copyTree(mp, s, `${dst}/${entry.name}`);
    } else if (entry.name.endsWith(".py") || entry.name.endsWith(".json") || entry.name.endsWith(".hex")) {
      mp.FS.writeFile(`${dst}/${entry.name}`, fs.readFileSync(s));
    }
  }
}

async function boot() {
  let out = "";
  const mp = await loadMicroPython({
    heapsize: HEAP,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
  });
  copyTree(mp, path.join(root, "firmware"), "/lib/firmware");
  copyTree(mp, path.join(root, "protocol", "vectors"), "/vectors");
  mp.FS.writeFile("/lib/mpsupport.py", fs.readFileSync(path.join(root, "tests/firmware/mpsupport.py")));
  mp.runPython("import sys\nsys.path.insert(0, '/lib')\nsys.path.insert(0, '/tests')");
  return mp;
}

function findModules(paths) {
  const found = [];
  const visit = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) visit(path.join(p, name));
    } else if (/^test_.*\.py$/.test(path.basename(p))) {
      const first = fs.readFileSync(p, "utf8").split("\n", 1)[0].trim();
      if (first === "# micropython") found.push(p);
    }
  };
  for (const p of paths) visit(path.resolve(p));
  return found;
}

const HARNESS = (mod) => `
import sys, gc
_passed = 0
_failed = 0
_m = __import__(${JSON.stringify(mod)})
for _name in sorted(dir(_m)):
    if not _name.startswith("test_"):
        continue
    _fn = getattr(_m, _name)
    if not callable(_fn):
        continue
    gc.collect()
    try:
        _fn()
        _passed += 1
        print("  ok   %s.%s" % (${JSON.stringify(mod)}, _name))
    except Exception as _e:
        _failed += 1
        print("  FAIL %s.%s" % (${JSON.stringify(mod)}, _name))
        sys.print_exception(_e)
_result = "%d %d" % (_passed, _failed)
`;

async function runTests(paths) {
  const modules = findModules(paths.length ? paths : ["tests/firmware"]);
  const mp = await boot();
  let passed = 0;
  let failed = 0;
  for (const file of modules) {
    const mod = path.basename(file, ".py");
    mp.FS.mkdirTree("/tests");
    mp.FS.writeFile(`/tests/${mod}.py`, fs.readFileSync(file));
    try {
      mp.runPython(HARNESS(mod));
      const [p, f] = String(mp.globals.get("_result")).split(" ").map(Number);
      passed += p;
      failed += f;
    } catch (e) {
      failed += 1;
      console.log(`  FAIL ${mod} (import): ${e}`);
    }
  }
  console.log(`MicroPython ${modules.length} modules`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed || passed === 0 ? 1 : 0);
}

async function runScript(file, args) {
  const mp = await boot();
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--lib") {
      const dir = path.resolve(args[++i]);
      copyTree(mp, dir, `/lib/${path.basename(dir)}`);
    }
  }
  try {
    mp.runPython(fs.readFileSync(file, "utf8"));
  } catch (e) {
    console.error(String(e));
    process.exit(1);
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--run") await runScript(argv[1], argv.slice(2));
else await runTests(argv);
