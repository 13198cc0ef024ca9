import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { DataError } from "../../src/data/errors.ts"
import { loadPrismDir } from "../../src/data/prism.ts"

/** A PRISM-shaped dataset that exercises every documented quirk, written to a fresh folder. */
const survey = [
  {
    user_id: "user0",
    survey_only: false,
    lm_familiarity: "Very familiar",
    lm_frequency_use: null,
    lm_usecases: null,
    stated_prefs: { safety: 80, personalisation: 62.5, other: null, other_text: null },
    self_description: "long free text",
    age: "25-34 years old",
    location: { special_region: "UK" },
  },
  {
    user_id: "user1",
    survey_only: false,
    lm_familiarity: "Somewhat familiar",
    lm_frequency_use: "Every week",
    lm_usecases: { research: 1, games: 0, other: 0, other_text: null },
    stated_prefs: { safety: 40.0, personalisation: 90, other: 55, other_text: "x" },
    age: "65+ years old",
    location: { special_region: "US" },
  },
  { user_id: "user2", survey_only: true, stated_prefs: { safety: null, personalisation: null }, age: "Prefer not to say" },
]

const model = (turn: number, content: string, model_name: string, score: number | null, if_chosen: boolean, within_turn_id: number) => ({
  turn,
  role: "model",
  content,
  model_name,
  model_provider: "p",
  score,
  if_chosen,
  within_turn_id,
})
const user = (turn: number, content: string) => ({ turn, role: "user", content })

const conversations = [
  {
    conversation_id: "c0",
    user_id: "user0",
    conversation_type: "unguided",
    conversation_history: [
      user(0, "hello"),
      model(0, "hi from M1", "M1", 37, false, 0),
      model(0, "hi from M2", "M2", 88, true, 1),
      model(0, "hi from M3", "M3", 88, false, 2),
      model(0, "EMPTY STRING", "M4", 20, false, 3),
      user(1, "tell me more"),
      model(1, "more A", "M2", 70, true, 0),
      model(1, "more B", "M2", 55, false, 1),
      user(2, "and then?"),
      model(2, "then A", "M2", 40, false, 0),
      model(2, "then B", "M2", 40.0, true, 1),
      user(3, "last one"),
      model(3, "EMPTY STRING", "M2", 90, true, 0),
      model(3, "last B", "M2", 10, false, 1),
      user(4, "really last"),
      model(4, "final A", "M2", 30, false, 0),
      model(4, "final B", "M2", 95, true, 1),
    ],
  },
  {
    conversation_id: "c1",
    user_id: "user1",
    conversation_type: "values guided",
    conversation_history: [
      user(0, "q0"),
      model(0, "a0", "M5", 60, true, 0),
      model(0, "b0", "M6", 50, false, 1),
      user(1, "q1"),
      model(1, "x1", "M5", null, true, 0),
      model(1, "y1", "M5", 20, false, 1),
      user(2, "q2"),
      model(2, "x2", "M5", 50, true, 0),
      model(2, "y2", "M6", 20, false, 1),
      user(3, "q3"),
      model(3, "x3", "M5", 50, true, 0),
      model(3, "y3", "M5", 20, false, 1),
      model(3, "z3", "M5", 10, false, 2),
      user(4, "q4"),
      model(4, "   ", "M5", 50, true, 0),
      model(4, "y4", "M5", 20, false, 1),
      user(5, "q5"),
      model(5, "same", "M5", 50, true, 0),
      model(5, "same", "M5", 20, false, 1),
      user(6, "q6"),
      model(6, "ok6", "M5", 61, true, 0),
      model(6, "meh6", "M5", 60, false, 1),
    ],
  },
  {
    conversation_id: "c2",
    user_id: "user99",
    conversation_type: "unguided",
    conversation_history: [user(0, "q"), model(0, "a", "M1", 50, true, 0), user(1, "q1"), model(1, "a1", "M1", 60, true, 0), model(1, "b1", "M1", 30, false, 1)],
  },
]

const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join("\n") + "\n"

const writeDataset = (files: Record<string, string | Buffer>): string => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-prism-"))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}

const standardDir = (): string =>
  writeDataset({ "survey.jsonl": jsonl(survey), "conversations.jsonl": jsonl(conversations) })

const errorOf = (run: () => unknown): DataError => {
  try {
    run()
  } catch (error) {
    if (error instanceof DataError) return error
    throw error
  }
  throw new Error("expected a DataError, but the call succeeded")
}

describe("PRISM within-model pairs", () => {
  const result = loadPrismDir(standardDir())
  const byId = new Map(result.pairs.map((p) => [p.id, p]))

  it("keeps only valid turn >= 1 pairs", () => {
    expect(result.pairs.map((p) => p.id)).toEqual(["c0:1", "c0:4", "c1:6"])
  })

  it("chooses the higher score", () => {
    const pair = byId.get("c0:4")!
    expect(pair.chosen).toBe("final B")
    expect(pair.rejected).toBe("final A")
    expect(pair.score_gap).toBe(65)
    expect(pair.turn).toBe(4)
    expect(pair.source).toBe("M2")
    expect(pair.rejected_source).toBeUndefined()
  })

  it("keeps a one-point gap", () => {
    expect(byId.get("c1:6")!.score_gap).toBe(1)
  })

  it("counts every dropped candidate by reason", () => {
    expect(result.dropped).toEqual({
      tie: 1,
      empty_response: 2,
      missing_score: 1,
      turn_with_two_models: 1,
      turn_without_two_responses: 1,
      identical_responses: 1,
      user_not_in_survey: 1,
    })
  })

  it("reports counts of what was read", () => {
    expect(result.counts.survey_users).toBe(3)
    expect(result.counts.conversations).toBe(3)
    expect(result.counts.interactions).toBe(5 + 7 + 2)
    expect(result.counts.interactions_turn0).toBe(3)
    expect(result.counts.pairs).toBe(3)
    expect(result.counts.users_with_pairs).toBe(2)
    expect(result.counts.survey_users_without_pairs).toBe(1)
  })

  it("attaches survey attributes without free text", () => {
    const attributes = byId.get("c0:1")!.attributes as Record<string, any>
    expect(attributes.age).toBe("25-34 years old")
    expect(attributes.stated_prefs.personalisation).toBe(62.5)
    expect(attributes.stated_prefs.other).toBeNull()
    expect(attributes.lm_usecases).toBeNull()
    expect(attributes.lm_frequency_use).toBeNull()
    expect(attributes.conversation_type).toBe("unguided")
    expect("self_description" in attributes).toBe(false)
    const other = byId.get("c1:6")!.attributes as Record<string, any>
    expect(other.stated_prefs.safety).toBe(40)
    expect(other.conversation_type).toBe("values guided")
  })

  it("uses the turn's text as prompt by default", () => {
    expect(byId.get("c0:4")!.prompt).toBe("really last")
  })
})

describe("PRISM options", () => {
  it("prepends history with the continued responses", () => {
    const { pairs } = loadPrismDir(standardDir(), { history: true })
    const pair = pairs.find((p) => p.id === "c0:4")!
    expect(pair.prompt).toBe(
      "User: hello\nAssistant: hi from M2\nUser: tell me more\nAssistant: more A\n" +
        "User: and then?\nAssistant: then B\nUser: last one\nAssistant: EMPTY STRING\nUser: really last",
    )
  })

  it("treats gaps within tieMargin as ties", () => {
    const { pairs, dropped } = loadPrismDir(standardDir(), { tieMargin: 5 })
    expect(pairs.map((p) => p.id)).toEqual(["c0:1", "c0:4"])
    expect(dropped.tie).toBe(2)
  })

  it("pairs turn-0 responses across models", () => {
    const { pairs, dropped } = loadPrismDir(standardDir(), { pairing: "turn0-all" })
    expect(pairs.map((p) => p.id)).toEqual(["c0:0:0-1", "c0:0:0-2", "c1:0:0-1"])
    const first = pairs[0]
    expect(first.chosen).toBe("hi from M2")
    expect(first.source).toBe("M2")
    expect(first.rejected_source).toBe("M1")
    expect(first.score_gap).toBe(51)
    expect(dropped.tie).toBe(1)
    expect(dropped.empty_response).toBe(3)
    expect(dropped.user_not_in_survey).toBeUndefined()
  })

  it("pairs the chosen response with the rest", () => {
    const { pairs, dropped } = loadPrismDir(standardDir(), { pairing: "chosen-vs-rest" })
    const ids = pairs.map((p) => p.id)
    expect(ids).toContain("c0:0:1>0")
    expect(ids).toContain("c0:0:1>2")
    expect(ids).not.toContain("c0:0:1>3")
    expect(ids).toContain("c0:2:1>0")
    const tied = pairs.find((p) => p.id === "c0:0:1>2")!
    expect(tied.score_gap).toBe(0)
    const noScore = pairs.find((p) => p.id === "c1:1:0>1")!
    expect(noScore.score_gap).toBeNull()
    expect(ids.filter((id) => id.startsWith("c1:3:"))).toEqual(["c1:3:0>1", "c1:3:0>2"])
    expect(dropped.empty_response).toBe(3)
    expect(dropped.identical_responses).toBe(1)
    expect(dropped.user_not_in_survey).toBe(1)
  })

  it("reads gzip files", () => {
    const dir = writeDataset({
      "survey.jsonl.gz": gzipSync(jsonl(survey)),
      "conversations.jsonl.gz": gzipSync(jsonl(conversations)),
    })
    expect(loadPrismDir(dir).pairs.map((p) => p.id)).toEqual(["c0:1", "c0:4", "c1:6"])
  })

  it("reads utterances when conversations are absent", () => {
    const rows: unknown[] = []
    let n = 0
    for (const c of conversations) {
      const prompts = new Map<number, string>()
      for (const entry of c.conversation_history as any[]) {
        if (entry.role === "user") prompts.set(entry.turn, entry.content)
        else
          rows.push({
            utterance_id: `ut${n++}`,
            interaction_id: `${c.conversation_id}-${entry.turn}`,
            conversation_id: c.conversation_id,
            user_id: c.user_id,
            turn: entry.turn,
            within_turn_id: entry.within_turn_id,
            user_prompt: prompts.get(entry.turn),
            model_response: entry.content,
            model_name: entry.model_name,
            score: entry.score,
            if_chosen: entry.if_chosen,
          })
      }
    }
    const dir = writeDataset({ "survey.jsonl": jsonl(survey), "utterances.jsonl": jsonl(rows) })
    const fromUtterances = loadPrismDir(dir)
    const fromConversations = loadPrismDir(standardDir())
    expect(fromUtterances.origin.from).toBe("utterances")
    // utterances.jsonl rows here carry no conversation_type, so only that attribute differs.
    const withoutType = fromConversations.pairs.map((p) => {
      const { conversation_type: _type, ...attributes } = p.attributes as Record<string, unknown>
      return { ...p, attributes }
    })
    expect(fromUtterances.pairs).toEqual(withoutType)
    expect(fromUtterances.dropped).toEqual(fromConversations.dropped)
    const history = errorOf(() => loadPrismDir(dir, { history: true }))
    expect(history.message).toContain("utterances.jsonl holds no earlier turns")
  })
})

describe("PRISM bad input", () => {
  it("names file and line of invalid JSON", () => {
    const dir = writeDataset({
      "survey.jsonl": jsonl(survey),
      "conversations.jsonl": jsonl(conversations.slice(0, 1)) + '{"conversation_id": "c9", \n',
    })
    const error = errorOf(() => loadPrismDir(dir))
    expect(error.message).toContain(`${join(dir, "conversations.jsonl")}:2: invalid JSON`)
    expect(error.line).toBe(2)
  })

  it("names a missing field", () => {
    const broken = { conversation_id: "c5", user_id: "user0" }
    const dir = writeDataset({ "survey.jsonl": jsonl(survey), "conversations.jsonl": jsonl([conversations[0], broken]) })
    const error = errorOf(() => loadPrismDir(dir))
    expect(error.message).toContain(':2: field "conversation_history": missing required list field')
  })

  it("names a missing nested field", () => {
    const broken = { conversation_id: "c5", user_id: "user0", conversation_history: [user(0, "q"), { turn: 0, role: "model", content: "a" }] }
    const dir = writeDataset({ "survey.jsonl": jsonl(survey), "conversations.jsonl": jsonl([broken]) })
    const error = errorOf(() => loadPrismDir(dir))
    expect(error.message).toContain(':1: field "conversation_history[1].model_name": missing required string field')
  })

  it("rejects a non-numeric score", () => {
    const broken = { conversation_id: "c5", user_id: "user0", conversation_history: [user(0, "q"), model(0, "a", "M", "high" as any, true, 0)] }
    const dir = writeDataset({ "survey.jsonl": jsonl(survey), "conversations.jsonl": jsonl([broken]) })
    expect(errorOf(() => loadPrismDir(dir)).message).toContain('field "conversation_history[1].score": expected a number or null, found "high"')
  })

  it("rejects an unknown role", () => {
    const broken = { conversation_id: "c5", user_id: "user0", conversation_history: [{ turn: 0, role: "assistant", content: "a" }] }
    const dir = writeDataset({ "survey.jsonl": jsonl(survey), "conversations.jsonl": jsonl([broken]) })
    expect(errorOf(() => loadPrismDir(dir)).message).toContain('unknown role "assistant"')
  })

  it("rejects duplicate survey users", () => {
    const dir = writeDataset({ "survey.jsonl": jsonl([...survey, survey[0]]), "conversations.jsonl": jsonl(conversations) })
    const error = errorOf(() => loadPrismDir(dir))
    expect(error.message).toContain(':4: field "user_id": duplicate user_id "user0" (first on line 1)')
  })

  it("names the missing files", () => {
    const onlySurvey = writeDataset({ "survey.jsonl": jsonl(survey) })
    expect(errorOf(() => loadPrismDir(onlySurvey)).message).toContain("missing PRISM conversations file")
    const nothing = writeDataset({})
    expect(errorOf(() => loadPrismDir(nothing)).message).toContain("missing PRISM survey file")
  })

  it("rejects an unknown pairing", () => {
    expect(errorOf(() => loadPrismDir(standardDir(), { pairing: "all" as any })).message).toContain('unknown pairing "all"')
  })
})
