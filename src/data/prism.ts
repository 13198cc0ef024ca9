/**
 * PRISM loader (Kirk et al., NeurIPS 2024 D&B, HF `HannahRoseKirk/prism-alignment`):
 * `survey.jsonl` for user attributes, and `conversations.jsonl` or
 * `utterances.jsonl` for the rated responses, turned into preference pairs.
 */
import { existsSync, statSync } from "node:fs"
import { join } from "node:path"
import { dataError } from "./errors.js"
import {
  optionalNumber,
  parseJsonLines,
  readTextFile,
  requireInteger,
  requireString,
  type FieldContext,
  type TextSource,
} from "./lines.js"
import { addCount, type DropCounts, type PreferencePair } from "./types.js"

/**
 * Pairing of the rated responses of one interaction (one user prompt):
 * - `within-model`: turns >= 1 only, the two responses of the same model, higher score chosen.
 * - `chosen-vs-rest`: every turn, the `if_chosen` response against each other response.
 * - `turn0-all`: turn 0 only, every two responses of different models, higher score chosen.
 */
export type PrismPairing = "within-model" | "chosen-vs-rest" | "turn0-all"
export const prismPairings: ReadonlyArray<PrismPairing> = ["within-model", "chosen-vs-rest", "turn0-all"]

export interface PrismOptions {
  /** Default `within-model`, the pairing of the reference study. */
  readonly pairing?: PrismPairing
  /**
   * When true, the prompt contains the earlier turns of the conversation, each as
   * `User: <text>\nAssistant: <continued response>\n`, followed by `User: <prompt>`.
   * Needs `conversations.jsonl`. Default false: the prompt is the turn's user text only.
   */
  readonly history?: boolean
  /** Score gaps at or below this count as ties and are dropped (default 0: only equal scores). */
  readonly tieMargin?: number
  /** Read pairs from `conversations` (default when present) or `utterances`. */
  readonly from?: "conversations" | "utterances"
}

export interface PrismFiles {
  readonly survey: TextSource
  readonly conversations?: TextSource
  readonly utterances?: TextSource
}

export interface PrismLoadResult {
  readonly pairs: PreferencePair[]
  /** Counts of rows read, e.g. survey users, conversations, interactions. */
  readonly counts: Record<string, number>
  /** Rows and candidate pairs left out, by reason. */
  readonly dropped: DropCounts
  /** Source file kind of the pairs and the options used. */
  readonly origin: { readonly from: "conversations" | "utterances"; readonly pairing: PrismPairing; readonly history: boolean }
}

/** PRISM's placeholder for an empty model response. */
export const PRISM_EMPTY_RESPONSE = "EMPTY STRING"

/** Survey keys left out of pair attributes: long free text and display bookkeeping. */
const SURVEY_KEYS_NOT_KEPT = new Set([
  "self_description",
  "system_string",
  "order_lm_usecases",
  "order_stated_prefs",
  "consent",
  "consent_age",
])

interface Response {
  readonly content: string
  readonly model: string
  readonly score: number | null
  readonly ifChosen: boolean
  readonly withinTurnId: number
}

interface Interaction {
  readonly conversationId: string
  readonly conversationType: string | null
  readonly userId: string
  readonly turn: number
  readonly prompt: string
  /** Earlier turns rendered for the prompt, or "" at turn 0. */
  readonly history: string
  readonly responses: Response[]
}

const isEmptyResponse = (content: string): boolean => content === PRISM_EMPTY_RESPONSE || content.trim() === ""

/** Finds the PRISM files in a folder; `survey.jsonl` and one of the other two are required. */
export const findPrismFiles = (dir: string): { survey: string; conversations?: string; utterances?: string } => {
  const pick = (name: string): string | undefined => {
    for (const candidate of [name, `${name}.gz`]) {
      const path = join(dir, candidate)
      if (existsSync(path) && statSync(path).isFile()) return path
    }
    return undefined
  }
  const survey = pick("survey.jsonl")
  const conversations = pick("conversations.jsonl")
  const utterances = pick("utterances.jsonl")
  if (survey === undefined) {
    throw dataError({ file: join(dir, "survey.jsonl") }, "missing PRISM survey file", "Put survey.jsonl (or survey.jsonl.gz) in the data folder")
  }
  if (conversations === undefined && utterances === undefined) {
    throw dataError(
      { file: join(dir, "conversations.jsonl") },
      "missing PRISM conversations file (neither conversations.jsonl nor utterances.jsonl exists)",
      "Put conversations.jsonl or utterances.jsonl beside survey.jsonl",
    )
  }
  return { survey, ...(conversations ? { conversations } : {}), ...(utterances ? { utterances } : {}) }
}

/** Reads the PRISM files of a folder from disk and derives pairs. */
export const loadPrismDir = (dir: string, options: PrismOptions = {}): PrismLoadResult => {
  const paths = findPrismFiles(dir)
  const wantUtterances = options.from === "utterances" || (options.from === undefined && paths.conversations === undefined)
  if (options.from === "utterances" && paths.utterances === undefined) {
    throw dataError({ file: join(dir, "utterances.jsonl") }, "missing file, but data.from is utterances", "Add the file or read from conversations")
  }
  if (options.from === "conversations" && paths.conversations === undefined) {
    throw dataError({ file: join(dir, "conversations.jsonl") }, "missing file, but data.from is conversations", "Add the file or read from utterances")
  }
  return loadPrism(
    {
      survey: readTextFile(paths.survey),
      ...(wantUtterances ? { utterances: readTextFile(paths.utterances!) } : { conversations: readTextFile(paths.conversations!) }),
    },
    options,
  )
}

/** Parses the survey: user id to the attributes kept on pairs. */
export const parseSurvey = (
  source: TextSource,
  counts: Record<string, number>,
): Map<string, Record<string, unknown>> => {
  const users = new Map<string, Record<string, unknown>>()
  const firstLine = new Map<string, number>()
  for (const { line, value } of parseJsonLines(source)) {
    const userId = requireString(value, "user_id", { file: source.file, line })
    const seen = firstLine.get(userId)
    if (seen !== undefined) {
      throw dataError(
        { file: source.file, line, field: "user_id" },
        `duplicate user_id ${JSON.stringify(userId)} (first on line ${seen})`,
        "Each user must have exactly one survey row; remove the duplicate",
      )
    }
    firstLine.set(userId, line)
    const attributes: Record<string, unknown> = {}
    for (const key of Object.keys(value)) {
      if (key !== "user_id" && !SURVEY_KEYS_NOT_KEPT.has(key)) attributes[key] = value[key]
    }
    users.set(userId, attributes)
  }
  counts.survey_users = users.size
  return users
}

const parseResponse = (entry: Record<string, unknown>, at: FieldContext, path: string): Response => {
  const score = optionalNumber(entry, "score", at, `${path}.score`)
  const withinTurnId = entry.within_turn_id
  return {
    content: requireString(entry, "content", at, `${path}.content`),
    model: requireString(entry, "model_name", at, `${path}.model_name`),
    score,
    ifChosen: entry.if_chosen === true,
    withinTurnId: typeof withinTurnId === "number" ? withinTurnId : 0,
  }
}

/** Picks the response a conversation continued with: `if_chosen`, else the highest score, else the first. */
const continuedResponse = (responses: ReadonlyArray<Response>): Response | undefined => {
  const chosen = responses.find((r) => r.ifChosen)
  if (chosen !== undefined) return chosen
  let best: Response | undefined
  for (const r of responses) {
    if (best === undefined || (r.score ?? -Infinity) > (best.score ?? -Infinity)) best = r
  }
  return best
}

const parseConversations = (source: TextSource, counts: Record<string, number>, dropped: DropCounts): Interaction[] => {
  const out: Interaction[] = []
  const seenIds = new Map<string, number>()
  for (const { line, value } of parseJsonLines(source)) {
    const at = { file: source.file, line }
    const conversationId = requireString(value, "conversation_id", at)
    const seen = seenIds.get(conversationId)
    if (seen !== undefined) {
      throw dataError(
        { ...at, field: "conversation_id" },
        `duplicate conversation_id ${JSON.stringify(conversationId)} (first on line ${seen})`,
        "Remove the duplicate conversation",
      )
    }
    seenIds.set(conversationId, line)
    const userId = requireString(value, "user_id", at)
    const conversationType = typeof value.conversation_type === "string" ? value.conversation_type : null
    const history = value.conversation_history
    if (!Array.isArray(history)) {
      throw dataError(
        { ...at, field: "conversation_history" },
        history === undefined ? "missing required list field" : `expected a list, found ${typeof history}`,
        "Each conversation needs its conversation_history list",
      )
    }
    counts.conversations = (counts.conversations ?? 0) + 1
    const userText = new Map<number, string>()
    const responses = new Map<number, Response[]>()
    history.forEach((entry: unknown, index: number) => {
      const path = `conversation_history[${index}]`
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
        throw dataError({ ...at, field: path }, `expected an object, found ${JSON.stringify(entry)}`, "Fix the entry")
      }
      const item = entry as Record<string, unknown>
      const turn = requireInteger(item, "turn", at, `${path}.turn`)
      const role = requireString(item, "role", at, `${path}.role`)
      if (role === "user") {
        if (userText.has(turn)) {
          throw dataError({ ...at, field: `${path}.turn` }, `two user entries for turn ${turn}`, "Each turn has one user entry")
        }
        userText.set(turn, requireString(item, "content", at, `${path}.content`))
      } else if (role === "model") {
        const list = responses.get(turn) ?? []
        list.push(parseResponse(item, at, path))
        responses.set(turn, list)
      } else {
        throw dataError({ ...at, field: `${path}.role` }, `unknown role ${JSON.stringify(role)}`, 'Expected "user" or "model"')
      }
    })
    const turns = [...new Set([...userText.keys(), ...responses.keys()])].sort((a, b) => a - b)
    let rendered = ""
    for (const turn of turns) {
      const prompt = userText.get(turn)
      const list = (responses.get(turn) ?? []).slice().sort((a, b) => a.withinTurnId - b.withinTurnId)
      if (prompt === undefined) {
        addCount(dropped, "interaction_without_user_prompt")
        continue
      }
      out.push({ conversationId, conversationType, userId, turn, prompt, history: rendered, responses: list })
      const continued = continuedResponse(list)
      rendered += `User: ${prompt}\nAssistant: ${continued?.content ?? ""}\n`
    }
  }
  return out
}

const parseUtterances = (source: TextSource, counts: Record<string, number>): Interaction[] => {
  const byInteraction = new Map<string, { interaction: Interaction; line: number }>()
  for (const { line, value } of parseJsonLines(source)) {
    const at = { file: source.file, line }
    const interactionId = requireString(value, "interaction_id", at)
    const conversationId = requireString(value, "conversation_id", at)
    const userId = requireString(value, "user_id", at)
    const turn = requireInteger(value, "turn", at)
    const prompt = requireString(value, "user_prompt", at)
    const response: Response = {
      content: requireString(value, "model_response", at),
      model: requireString(value, "model_name", at),
      score: optionalNumber(value, "score", at),
      ifChosen: value.if_chosen === true,
      withinTurnId: typeof value.within_turn_id === "number" ? value.within_turn_id : 0,
    }
    counts.utterances = (counts.utterances ?? 0) + 1
    const existing = byInteraction.get(interactionId)
    if (existing === undefined) {
      const conversationType = typeof value.conversation_type === "string" ? value.conversation_type : null
      byInteraction.set(interactionId, {
        interaction: { conversationId, conversationType, userId, turn, prompt, history: "", responses: [response] },
        line,
      })
    } else {
      const first = existing.interaction
      if (first.conversationId !== conversationId || first.userId !== userId || first.turn !== turn) {
        throw dataError(
          { ...at, field: "interaction_id" },
          `interaction ${interactionId} has conversation/user/turn ${conversationId}/${userId}/${turn} here but ${first.conversationId}/${first.userId}/${first.turn} on line ${existing.line}`,
          "Rows of one interaction must agree; fix the ids",
        )
      }
      first.responses.push(response)
    }
  }
  const out = [...byInteraction.values()].map(({ interaction }) => ({
    ...interaction,
    responses: interaction.responses.slice().sort((a, b) => a.withinTurnId - b.withinTurnId),
  }))
  return out
}

interface PairDraft {
  readonly idSuffix: string
  readonly chosen: Response
  readonly rejected: Response
}

/** Candidate pairs of one interaction under the pairing; drops are counted by reason. */
const pairsOfInteraction = (
  interaction: Interaction,
  pairing: PrismPairing,
  tieMargin: number,
  dropped: DropCounts,
): PairDraft[] => {
  const { responses, turn } = interaction
  const scored = (a: Response, b: Response, idSuffix: string): PairDraft | undefined => {
    if (a.score === null || b.score === null) {
      addCount(dropped, "missing_score")
      return undefined
    }
    if (isEmptyResponse(a.content) || isEmptyResponse(b.content)) {
      addCount(dropped, "empty_response")
      return undefined
    }
    if (Math.abs(a.score - b.score) <= tieMargin) {
      addCount(dropped, "tie")
      return undefined
    }
    if (a.content === b.content) {
      addCount(dropped, "identical_responses")
      return undefined
    }
    return a.score > b.score ? { idSuffix, chosen: a, rejected: b } : { idSuffix, chosen: b, rejected: a }
  }

  if (pairing === "within-model") {
    if (turn < 1) return []
    if (responses.length !== 2) {
      addCount(dropped, "turn_without_two_responses")
      return []
    }
    if (responses[0].model !== responses[1].model) {
      addCount(dropped, "turn_with_two_models")
      return []
    }
    const draft = scored(responses[0], responses[1], "")
    return draft === undefined ? [] : [draft]
  }

  if (pairing === "turn0-all") {
    if (turn !== 0) return []
    const out: PairDraft[] = []
    for (let i = 0; i < responses.length; i++) {
      for (let j = i + 1; j < responses.length; j++) {
        if (responses[i].model === responses[j].model) {
          addCount(dropped, "same_model_at_turn0")
          continue
        }
        const draft = scored(responses[i], responses[j], `:${responses[i].withinTurnId}-${responses[j].withinTurnId}`)
        if (draft !== undefined) out.push(draft)
      }
    }
    return out
  }

  // chosen-vs-rest: the if_chosen label decides, scores only give the gap.
  const chosenList = responses.filter((r) => r.ifChosen)
  if (chosenList.length !== 1) {
    addCount(dropped, chosenList.length === 0 ? "interaction_without_chosen" : "interaction_with_several_chosen")
    return []
  }
  const chosen = chosenList[0]
  if (isEmptyResponse(chosen.content)) {
    addCount(dropped, "empty_response", responses.length - 1)
    return []
  }
  const out: PairDraft[] = []
  for (const rejected of responses) {
    if (rejected === chosen) continue
    if (isEmptyResponse(rejected.content)) {
      addCount(dropped, "empty_response")
      continue
    }
    if (rejected.content === chosen.content) {
      addCount(dropped, "identical_responses")
      continue
    }
    out.push({ idSuffix: `:${chosen.withinTurnId}>${rejected.withinTurnId}`, chosen, rejected })
  }
  return out
}

/** Derives pairs from PRISM text already in memory (the files' contents). */
export const loadPrism = (files: PrismFiles, options: PrismOptions = {}): PrismLoadResult => {
  const pairing = options.pairing ?? "within-model"
  if (!prismPairings.includes(pairing)) {
    throw dataError({ field: "data.pairing" }, `unknown pairing ${JSON.stringify(pairing)}`, `Use one of ${prismPairings.join(", ")}`)
  }
  const tieMargin = options.tieMargin ?? 0
  const history = options.history ?? false
  const counts: Record<string, number> = {}
  const dropped: DropCounts = {}
  const users = parseSurvey(files.survey, counts)

  const from = options.from ?? (files.conversations !== undefined ? "conversations" : "utterances")
  let interactions: Interaction[]
  if (from === "conversations") {
    if (files.conversations === undefined) {
      throw dataError({}, "PRISM conversations.jsonl was not given", "Pass conversations.jsonl or read from utterances")
    }
    interactions = parseConversations(files.conversations, counts, dropped)
  } else {
    if (files.utterances === undefined) {
      throw dataError({}, "PRISM utterances.jsonl was not given", "Pass utterances.jsonl or read from conversations")
    }
    if (history) {
      throw dataError(
        { file: files.utterances.file, field: "data.history" },
        "utterances.jsonl holds no earlier turns, so data.history cannot be true",
        "Read from conversations.jsonl or set data.history to false",
      )
    }
    interactions = parseUtterances(files.utterances, counts)
  }
  counts.interactions = interactions.length
  counts.interactions_turn0 = interactions.filter((i) => i.turn === 0).length

  const pairs: PreferencePair[] = []
  const usersWithPairs = new Set<string>()
  const seenIds = new Set<string>()
  for (const interaction of interactions) {
    const drafts = pairsOfInteraction(interaction, pairing, tieMargin, dropped)
    if (drafts.length === 0) continue
    const attributes = users.get(interaction.userId)
    if (attributes === undefined) {
      addCount(dropped, "user_not_in_survey", drafts.length)
      continue
    }
    const prompt = history && interaction.turn > 0 ? `${interaction.history}User: ${interaction.prompt}` : interaction.prompt
    const withConversation =
      interaction.conversationType === null ? attributes : { ...attributes, conversation_type: interaction.conversationType }
    for (const draft of drafts) {
      const id = `${interaction.conversationId}:${interaction.turn}${draft.idSuffix}`
      if (seenIds.has(id)) {
        throw dataError(
          { file: (files.conversations ?? files.utterances)?.file, field: "conversation_id" },
          `two interactions give the pair id ${id}`,
          "Each conversation and turn must occur once; remove the duplicate rows",
        )
      }
      seenIds.add(id)
      usersWithPairs.add(interaction.userId)
      pairs.push({
        id,
        prompt,
        chosen: draft.chosen.content,
        rejected: draft.rejected.content,
        user_id: interaction.userId,
        source: draft.chosen.model,
        ...(draft.rejected.model !== draft.chosen.model ? { rejected_source: draft.rejected.model } : {}),
        score_gap:
          draft.chosen.score !== null && draft.rejected.score !== null ? draft.chosen.score - draft.rejected.score : null,
        turn: interaction.turn,
        attributes: withConversation,
      })
    }
  }
  counts.pairs = pairs.length
  counts.users_with_pairs = usersWithPairs.size
  counts.survey_users_without_pairs = [...users.keys()].filter((u) => !usersWithPairs.has(u)).length
  return { pairs, counts, dropped, origin: { from, pairing, history } }
}
