/**
 * A minimal terminal screen for reading what a program drew in a pseudo-
 * terminal: printable text with deferred line wrap, CR/LF with scrolling,
 * and the CSI sequences Ink 6 and log-update emit (cursor moves, erase line,
 * erase display). Styles (SGR) and private modes (`?25l`, `?2026h`) are
 * ignored. Rows scrolled off the top are kept in `scrollback`.
 */
export interface Screen {
  /** Rows that scrolled off the top, oldest first, right-trimmed. */
  readonly scrollback: Array<string>
  /** The visible rows, right-trimmed, trailing empty rows removed. */
  readonly rows: Array<string>
}

export const emulate = (output: string, columns: number, height: number): Screen => {
  const blank = (): Array<string> => Array.from({ length: columns }, () => " ")
  let grid: Array<Array<string>> = Array.from({ length: height }, blank)
  const scrollback: Array<string> = []
  let row = 0
  let col = 0
  let pendingWrap = false

  const text = (cells: Array<string>): string => cells.join("").trimEnd()
  const lineFeed = (): void => {
    if (row === height - 1) {
      scrollback.push(text(grid.shift()!))
      grid.push(blank())
    } else {
      row += 1
    }
  }

  const chars = [...output]
  let index = 0
  while (index < chars.length) {
    const char = chars[index]!
    index += 1
    if (char === "\x1b") {
      if (chars[index] !== "[") {
        index += 1 // two-character escape such as ESC 7; none change the text
        continue
      }
      index += 1
      let params = ""
      while (index < chars.length && /[0-9;?]/.test(chars[index]!)) params += chars[index++]!
      const final = chars[index++]
      if (params.startsWith("?")) continue
      const numbers = params === "" ? [] : params.split(";").map((part) => (part === "" ? 0 : Number(part)))
      const count = Math.max(1, numbers[0] ?? 1)
      pendingWrap = false
      switch (final) {
        case "A":
          row = Math.max(0, row - count)
          break
        case "B":
          row = Math.min(height - 1, row + count)
          break
        case "E":
          row = Math.min(height - 1, row + count)
          col = 0
          break
        case "F":
          row = Math.max(0, row - count)
          col = 0
          break
        case "C":
          col = Math.min(columns - 1, col + count)
          break
        case "D":
          col = Math.max(0, col - count)
          break
        case "G":
          col = Math.min(columns - 1, count - 1)
          break
        case "H":
          row = Math.min(height - 1, Math.max(1, numbers[0] ?? 1) - 1)
          col = Math.min(columns - 1, Math.max(1, numbers[1] ?? 1) - 1)
          break
        case "K": {
          const mode = numbers[0] ?? 0
          const line = grid[row]!
          for (let c = 0; c < columns; c++) {
            if (mode === 2 || (mode === 0 && c >= col) || (mode === 1 && c <= col)) line[c] = " "
          }
          break
        }
        case "J": {
          const mode = numbers[0] ?? 0
          if (mode === 3) scrollback.length = 0
          else if (mode === 2) grid = Array.from({ length: height }, blank)
          else if (mode === 0) {
            for (let c = col; c < columns; c++) grid[row]![c] = " "
            for (let r = row + 1; r < height; r++) grid[r] = blank()
          }
          break
        }
        default:
          break // SGR and other sequences leave the text alone
      }
      continue
    }
    if (char === "\r") {
      col = 0
      pendingWrap = false
    } else if (char === "\n") {
      lineFeed()
      pendingWrap = false
    } else if (char === "\b") {
      col = Math.max(0, col - 1)
    } else if (char >= " ") {
      if (pendingWrap) {
        col = 0
        lineFeed()
        pendingWrap = false
      }
      grid[row]![col] = char
      if (col === columns - 1) pendingWrap = true
      else col += 1
    }
  }

  const rows = grid.map(text)
  while (rows.length > 0 && rows[rows.length - 1] === "") rows.pop()
  return { scrollback, rows }
}
