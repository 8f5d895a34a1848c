/** Whether a path is a file this process may execute. */
import { constants } from "node:fs";
import fs from "node:fs/promises";

/** True when `file` is a regular file with execute permission for this process. */
export async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
