/**
 * The one way tests reach the shared reference material (oracle cases,
 * published study numbers, real data files) kept beside the repository.
 * A missing file fails the test with its path; it never skips.
 */
import { existsSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")
export const sharedRoot = resolve(repoRoot, "..", "shared")

/** Returns the absolute path of `relative` under the shared folder, or throws naming it. */
export const sharedPath = (relative: string): string => {
  const path = join(sharedRoot, relative)
  if (!existsSync(path)) {
    throw new Error(
      `required shared file is missing: ${path} (the shared reference folder must sit beside the repository)`,
    )
  }
  return path
}
