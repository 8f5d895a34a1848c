// The demo's background processes — `bosun run` and the Git server it fetches from — recorded by pid in
// .bosun/demo, and how to stop them (only while their command line still names the demo's directory, so
// a pid the kernel reused is never signalled). Shared by the demo (an earlier run's processes) and
// `npm run demo:stop`.
import fs from "node:fs/promises";
import path from "node:path";

/** The demo's directory, relative to the repository. */
export const DEMO_DIR = ".bosun/demo";

/** Stops the daemon first (it releases its locks on SIGTERM), then the Git server. */
export async function stopDemoProcesses(repo, log) {
  const dir = path.join(repo, DEMO_DIR);
  const { stopDetached } = await import(path.join(repo, "dist/tools/detached.js"));
  for (const name of ["daemon", "git-server"]) {
    const file = path.join(dir, `${name}.pid`);
    const pid = Number((await fs.readFile(file, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stopped = await stopDetached(pid, dir, 70_000);
    log(stopped ? `stopped the demo's ${name} (pid ${pid})` : `the demo's ${name} (pid ${pid}) did not stop`);
    await fs.rm(file, { force: true });
  }
}
