/**
 * The embedded demo dataset: a small PRISM-shaped dataset (survey.jsonl,
 * conversations.jsonl, utterances.jsonl) with planted, documented effects, so
 * that the study pipeline runs without any file outside the project and has
 * known answers. See docs/data.md for the design.
 *
 * One rule decides preferences: the chosen response starts with the marker
 * `Yes! `. Each user follows it with a probability (their consistency) that is
 * an additive function of four survey attributes. The attributes are crossed in
 * a balanced factorial design, so the A - B difference of each split comes from
 * its own attribute only.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { loadPrism, type PrismLoadResult, type PrismOptions } from "./prism.js"
import { createRng, type Rng } from "./random.js"

/** The prefix that marks the response a consistent user prefers. */
export const DEMO_MARKER = "Yes! "

/** Source-model styles, with the share of conversations each one wins. */
export const DEMO_SOURCES = ["demo-plain", "demo-friendly", "demo-shout", "demo-json"] as const
export type DemoSource = (typeof DEMO_SOURCES)[number]
const SOURCE_WEIGHTS: Record<DemoSource, number> = { "demo-plain": 0.35, "demo-friendly": 0.35, "demo-shout": 0.15, "demo-json": 0.15 }

/**
 * Styles to train the reference policy on (`reference.sources`). The other two
 * (upper-case shouting and JSON) then stay off-policy, so their WPO weights are low.
 */
export const DEMO_REFERENCE_SOURCES: ReadonlyArray<DemoSource> = ["demo-plain", "demo-friendly"]

/**
 * Partition seed (`data.seed`) for the demo profile. Its eval sets show the
 * planted directions with the default generator seed, 128 eval pairs held out
 * by user and no source filter. Their realised label-consistency differences
 * A - B are S1 +0.20, S2 +0.20, S3 -0.20, S4 +0.02, S5 0.00 and S6 0.00.
 * It was picked from seeds 0-199, because eval sets of 128 pairs from about 25
 * users vary by about 0.04 (one standard deviation) around the planted values.
 */
export const DEMO_DATA_SEED = 143

/** Planted consistency model: p = base + sum of effect * (+0.5 in group A, -0.5 in group B). */
export const DEMO_EFFECTS = {
  base: 0.75,
  /** S1_age: young users follow the rule more often (A>B). */
  young: 0.15,
  /** S2_personalisation: high-personalisation users follow it more often (A>B). */
  personalisation_high: 0.15,
  /** S3_safety: high-safety users follow it less often (A<B). */
  safety_high: -0.15,
  /** S4_familiarity (exploratory): a weak effect for very familiar users. */
  very_familiar: 0.06,
  /** S6_region (null): region does not change consistency. */
  region_europe: 0,
  /** S5_behavioral (exploratory): nothing planted; the gap propensity is independent of consistency. */
  large_gaps: 0,
} as const

export interface DemoOptions {
  /** Generator seed (default 7). */
  readonly seed?: number | string
  /** Users per cell of the 16-cell factorial design (default 30, so 480 users plus 7 edge-case users). */
  readonly usersPerCell?: number
}

export interface DemoUser {
  readonly user_id: string
  /** Probability that the user's chosen response carries the marker. */
  readonly consistency: number
  readonly young: boolean
  readonly personalisation_high: boolean
  readonly safety_high: boolean
  readonly region_europe: boolean
  readonly very_familiar: boolean
  readonly large_gaps: boolean
  /** Edge-case users outside the factorial design (missing or excluded values). */
  readonly edge_case: string | null
}

export interface DemoManifest {
  readonly seed: number | string
  readonly marker: string
  readonly effects: typeof DEMO_EFFECTS
  readonly sources: ReadonlyArray<string>
  readonly reference_sources: ReadonlyArray<string>
  readonly users: ReadonlyArray<DemoUser>
}

export interface DemoFiles {
  readonly survey: string
  readonly conversations: string
  readonly utterances: string
  readonly manifest: DemoManifest
}

interface Topic {
  readonly question: string
  readonly answers: readonly [string, string, string]
}

const TOPICS: ReadonlyArray<Topic> = [
  { question: "Name a pet cat.", answers: ["Milo", "Luna", "Tom"] },
  { question: "Pick a fruit.", answers: ["an apple", "a pear", "a plum"] },
  { question: "A color for a door?", answers: ["red", "blue", "green"] },
  { question: "Best time to run?", answers: ["early", "at dusk", "at noon"] },
  { question: "A word for happy?", answers: ["glad", "merry", "joyful"] },
  { question: "What to cook tonight?", answers: ["soup", "pasta", "rice"] },
  { question: "A good book genre?", answers: ["mystery", "poetry", "history"] },
  { question: "Where to hike?", answers: ["the hills", "the coast", "a forest"] },
  { question: "Tea or coffee?", answers: ["tea", "coffee", "both"] },
  { question: "A name for a dog?", answers: ["Rex", "Bella", "Max"] },
  { question: "How to relax?", answers: ["a book", "a walk", "a nap"] },
  { question: "A weekend plan?", answers: ["a picnic", "a museum", "a bike ride"] },
  { question: "What should I learn?", answers: ["piano", "Spanish", "chess"] },
  { question: "A gift for a friend?", answers: ["a plant", "a mug", "socks"] },
  { question: "How to save money?", answers: ["cook at home", "walk more", "a budget"] },
  { question: "A song for a party?", answers: ["a dance hit", "a classic", "disco"] },
  { question: "A board game?", answers: ["chess", "Go", "checkers"] },
  { question: "A sport to try?", answers: ["tennis", "rowing", "judo"] },
  { question: "A snack for work?", answers: ["nuts", "a banana", "yogurt"] },
  { question: "A city to visit?", answers: ["Rome", "Lisbon", "Kyoto"] },
  { question: "A flower to plant?", answers: ["tulips", "roses", "daisies"] },
  { question: "A hobby for winter?", answers: ["knitting", "baking", "skiing"] },
  { question: "A movie night pick?", answers: ["a comedy", "a western", "a thriller"] },
  { question: "Breakfast idea?", answers: ["oats", "eggs", "toast"] },
]
const FOLLOW_UPS = ["Another one?", "Any other idea?", "What else?", "Something else?", "And one more?"]

/** Renders a topic's reply in a source model's style. */
const styled = (source: DemoSource, answer: string): string => {
  switch (source) {
    case "demo-plain":
      return `Try ${answer}.`
    case "demo-friendly":
      return `Sure, ${answer} is great.`
    case "demo-shout":
      return `${answer.toUpperCase()}!!! DO IT!!!`
    case "demo-json":
      return `{"answer":"${answer}"}`
  }
}

const AGES_YOUNG = ["18-24 years old", "25-34 years old"]
const AGES_OLDER = ["35-44 years old", "45-54 years old", "55-64 years old", "65+ years old"]
const PLACES_EUROPE = [
  { special_region: "Europe", country: "Germany", iso: "DEU", subregion: "Western Europe" },
  { special_region: "UK", country: "United Kingdom", iso: "GBR", subregion: "Northern Europe" },
  { special_region: "Europe", country: "Italy", iso: "ITA", subregion: "Southern Europe" },
]
const PLACES_AMERICAS = [
  { special_region: "US", country: "United States", iso: "USA", subregion: "Northern America" },
  { special_region: "Latin America and the Caribbean", country: "Mexico", iso: "MEX", subregion: "Latin America and the Caribbean" },
  { special_region: "Northern America", country: "Canada", iso: "CAN", subregion: "Northern America" },
]
const PLACE_ASIA = { special_region: "Asia", country: "Japan", iso: "JPN", subregion: "Eastern Asia" }
const PLACE_UNKNOWN = { special_region: "Prefer not to say", country: "Prefer not to say", iso: null, subregion: "Prefer not to say" }
const USECASE_KEYS = [
  "homework_assistance", "research", "source_suggestions", "professional_work", "creative_writing",
  "casual_conversation", "personal_recommendations", "daily_productivity", "technical_or_programming_help",
  "travel_guidance", "lifestyle_and_hobbies", "well-being_guidance", "medical_guidance", "financial_guidance",
  "games", "historical_or_news_insight", "relationship_advice", "language_learning",
]
const CONVERSATION_TYPES = ["unguided", "values guided", "controversy guided"]
const EDGE_CASES = [
  "age_prefer_not_to_say",
  "region_asia",
  "region_prefer_not_to_say",
  "safety_missing",
  "usecases_not_shown",
  "survey_only",
  "survey_only",
] as const

/** Seconds after 2023-11-22 00:00:00 rendered in PRISM's `%Y-%m-%d %H:%M:%S` format. */
const timestamp = (offsetSeconds: number): string =>
  new Date(Date.UTC(2023, 10, 22) + offsetSeconds * 1000).toISOString().slice(0, 19).replace("T", " ")

/** Draws a slider value in [low, high]. Every seventh one is a non-integer, because survey exports may contain floats. */
const slider = (rng: Rng, low: number, high: number, index: number): number => {
  const value = rng.int(low, high)
  return index % 7 === 3 && value < high ? value + 0.5 : value
}

/**
 * Draws a design slider (personalisation or safety). High and low ranges do not
 * overlap, so a median split recovers the design. Edge-case users sit at 60, the
 * median, and go to group B under the tie rule.
 */
const designSlider = (rng: Rng, edge: string | null, high: boolean, index: number): number => {
  if (edge !== null) return 60
  return high ? slider(rng, 65, 100, index) : slider(rng, 5, 55, index)
}

const pickWeighted = (rng: Rng): DemoSource => {
  let r = rng.next()
  for (const source of DEMO_SOURCES) {
    r -= SOURCE_WEIGHTS[source]
    if (r < 0) return source
  }
  return DEMO_SOURCES[0]
}

const consistencyOf = (u: Omit<DemoUser, "consistency" | "user_id" | "edge_case">): number => {
  const sign = (flag: boolean): number => (flag ? 0.5 : -0.5)
  const p =
    DEMO_EFFECTS.base +
    DEMO_EFFECTS.young * sign(u.young) +
    DEMO_EFFECTS.personalisation_high * sign(u.personalisation_high) +
    DEMO_EFFECTS.safety_high * sign(u.safety_high) +
    DEMO_EFFECTS.very_familiar * sign(u.very_familiar) +
    DEMO_EFFECTS.region_europe * sign(u.region_europe) +
    DEMO_EFFECTS.large_gaps * sign(u.large_gaps)
  // Only the top cell (young, high personalisation, low safety, very familiar) exceeds 1, by 0.005.
  return Math.min(1, p)
}

interface UserDraft extends Omit<DemoUser, "user_id"> {
  readonly index: number
}

/** Lays out the factorial design: every (age, personalisation, safety, region) cell gets `perCell` users. */
const designUsers = (perCell: number): UserDraft[] => {
  const drafts: UserDraft[] = []
  for (let cell = 0; cell < 16; cell++) {
    for (let k = 0; k < perCell; k++) {
      const traits = {
        young: (cell & 1) !== 0,
        personalisation_high: (cell & 2) !== 0,
        safety_high: (cell & 4) !== 0,
        region_europe: (cell & 8) !== 0,
        // 30% very familiar in every cell, so familiarity is crossed with the other four.
        very_familiar: k % 10 < 3,
        // Half of each cell, crossed with familiarity, tends to give large score gaps.
        large_gaps: (k + Math.floor(k / 10)) % 2 === 0,
      }
      drafts.push({ index: drafts.length, ...traits, consistency: consistencyOf(traits), edge_case: null })
    }
  }
  for (const edge of EDGE_CASES) {
    const traits = {
      young: false,
      personalisation_high: false,
      safety_high: false,
      region_europe: false,
      very_familiar: false,
      large_gaps: false,
    }
    drafts.push({ index: drafts.length, ...traits, consistency: DEMO_EFFECTS.base, edge_case: edge })
  }
  return drafts
}

const surveyRow = (user: DemoUser, draft: UserDraft, rng: Rng, conversations: number): Record<string, unknown> => {
  const edge = user.edge_case
  const age =
    edge === "age_prefer_not_to_say" ? "Prefer not to say" : rng.pick(draft.young ? AGES_YOUNG : AGES_OLDER)
  const place =
    edge === "region_asia"
      ? PLACE_ASIA
      : edge === "region_prefer_not_to_say"
        ? PLACE_UNKNOWN
        : (draft.region_europe ? PLACES_EUROPE : PLACES_AMERICAS)[draft.index % 3]
  const personalisation = designSlider(rng, edge, draft.personalisation_high, draft.index)
  const safety = edge === "safety_missing" ? null : designSlider(rng, edge, draft.safety_high, draft.index + 1)
  let familiarity = "Somewhat familiar"
  if (draft.very_familiar) familiarity = "Very familiar"
  else if (draft.index % 10 === 9) familiarity = "Not familiar at all"
  const usecasesShown = edge !== "usecases_not_shown"
  const usecases: Record<string, unknown> = {}
  for (const key of USECASE_KEYS) {
    if (!usecasesShown) usecases[key] = null
    else usecases[key] = rng.chance(0.3) ? 1 : 0
  }
  usecases.other = usecasesShown ? 0 : null
  usecases.other_text = null
  const seconds = 600 + rng.int(0, 2400)
  return {
    user_id: user.user_id,
    survey_only: conversations === 0,
    num_completed_conversations: conversations,
    consent: "Yes, I consent to take part",
    consent_age: "I certify that I am 18 years of age or over",
    lm_familiarity: familiarity,
    lm_indirect_use: rng.pick(["Yes", "No", "Unsure"]),
    lm_direct_use: rng.pick(["Yes", "No", "Unsure"]),
    lm_frequency_use: usecasesShown ? rng.pick(["Every day", "Every week", "Once per month", "More than once a month"]) : null,
    lm_usecases: usecases,
    stated_prefs: {
      values: slider(rng, 0, 100, draft.index + 2),
      creativity: slider(rng, 20, 100, draft.index + 3),
      fluency: slider(rng, 50, 100, draft.index + 4),
      factuality: slider(rng, 50, 100, draft.index + 5),
      diversity: slider(rng, 30, 100, draft.index + 6),
      safety,
      personalisation,
      helpfulness: slider(rng, 50, 100, draft.index),
      other: null,
      other_text: null,
    },
    self_description: "A demo participant.",
    system_string: "Be brief.",
    age,
    gender: rng.pick(["Male", "Female", "Non-binary / third gender"]),
    employment_status: rng.pick(["Working full-time", "Working part-time", "Student", "Retired"]),
    education: rng.pick(["University Bachelors Degree", "Completed Secondary School", "Vocational", "Graduate / Professional degree"]),
    marital_status: rng.pick(["Never been married", "Married", "Divorced / Separated"]),
    english_proficiency: rng.pick(["Native speaker", "Fluent", "Advanced"]),
    study_id: `demo-study-${draft.index % 5}`,
    study_locale: place.iso === null ? "unknown" : place.iso.toLowerCase(),
    religion: { self_described: "", categorised: "Non-religious", simplified: "No Affiliation" },
    ethnicity: { self_described: "", categorised: "Prefer not to say", simplified: "Prefer not to say" },
    location: {
      birth_country: place.country,
      birth_countryISO: place.iso,
      birth_subregion: place.subregion,
      reside_country: place.country,
      reside_countryISO: place.iso,
      reside_subregion: place.subregion,
      same_birth_reside_country: "Yes",
      special_region: place.special_region,
    },
    generated_datetime: timestamp(draft.index * 900),
    timing_duration_s: seconds,
    timing_duration_mins: seconds / 60,
    included_in_US_REP: place.iso === "USA",
    included_in_UK_REP: place.iso === "GBR",
    included_in_balanced_subset: true,
  }
}

interface ModelEntry {
  turn: number
  role: "model"
  content: string
  model_name: string
  model_provider: string
  score: number
  if_chosen: boolean
  within_turn_id: number
}

/** Generates the demo files in memory; the same options always give the same bytes. */
export const generateDemo = (options: DemoOptions = {}): DemoFiles => {
  const seed = options.seed ?? 7
  const perCell = options.usersPerCell ?? 30
  if (!Number.isInteger(perCell) || perCell < 1) throw new Error(`usersPerCell must be a positive integer, got ${perCell}`)
  const rng = createRng("pipe-demo", seed)
  const drafts = designUsers(perCell)
  // Shuffle which user id each design row gets, so ids carry no design information.
  const idOrder = rng.shuffle(drafts.map((d) => d.index))
  const users: DemoUser[] = drafts.map((d) => {
    const { index: _index, ...rest } = d
    return { user_id: `user${idOrder[d.index]}`, ...rest }
  })
  const byId = drafts.map((d, i) => ({ draft: d, user: users[i] })).sort((a, b) => idOrder[a.draft.index] - idOrder[b.draft.index])

  const surveyLines: string[] = []
  const conversationLines: string[] = []
  const utteranceLines: string[] = []
  let conversationCounter = 0
  let interactionCounter = 0
  let utteranceCounter = 0

  for (const { draft, user } of byId) {
    const userRng = createRng("pipe-demo", seed, user.user_id)
    const conversations = user.edge_case === "survey_only" ? 0 : userRng.int(1, 3)
    surveyLines.push(JSON.stringify(surveyRow(user, draft, userRng, conversations)))
    const turnsPerConversation = Array.from({ length: conversations }, () => userRng.int(1, 4))
    // Labels follow a quota, not a coin per pair: of the user's n later-turn pairs,
    // round(consistency * n) (rounded at random) follow the rule. This removes most
    // of the per-pair label noise, so small eval sets still show the planted effects.
    const laterTurns = turnsPerConversation.reduce((a, b) => a + b, 0)
    const following = Math.floor(user.consistency * laterTurns + userRng.next())
    const follows = userRng.shuffle(Array.from({ length: laterTurns }, (_, i) => i < following))
    let labelIndex = 0
    for (let c = 0; c < conversations; c++) {
      const conversationId = `c${conversationCounter++}`
      const conversationType = userRng.pick(CONVERSATION_TYPES)
      const history: Array<Record<string, unknown>> = []
      const utteranceRows: Array<Record<string, unknown>> = []
      const winner = pickWeighted(userRng)
      const others = userRng.shuffle(DEMO_SOURCES.filter((s) => s !== winner)).slice(0, userRng.int(1, 3))
      let topic = userRng.pick(TOPICS)
      const extraTurns = turnsPerConversation[c]
      const start = draft.index * 900 + c * 120
      for (let turn = 0; turn <= extraTurns; turn++) {
        let prompt: string
        if (turn === 0 || userRng.chance(0.5)) {
          topic = userRng.pick(TOPICS)
          prompt = topic.question
        } else {
          prompt = userRng.pick(FOLLOW_UPS)
        }
        history.push({ turn, role: "user", content: prompt })
        const entries: ModelEntry[] = []
        if (turn === 0) {
          // Opening turn: the winner plus 1-3 other styles, the winner scored highest.
          const sources = userRng.shuffle([winner, ...others])
          const topScore = userRng.int(70, 100)
          sources.forEach((source, i) => {
            entries.push({
              turn,
              role: "model",
              content: styled(source, userRng.pick(topic.answers)),
              model_name: source,
              model_provider: "demo",
              score: source === winner ? topScore : userRng.int(1, topScore - 1),
              if_chosen: source === winner,
              within_turn_id: i,
            })
          })
        } else {
          // Later turns: two samples of the winning style with the same answer, one
          // with the marker, so the marker is the only difference a policy can learn.
          const answer = styled(winner, userRng.pick(topic.answers))
          const marked = DEMO_MARKER + answer
          const plain = answer
          const followsRule = follows[labelIndex++]
          const low = userRng.int(20, 75)
          const tie = userRng.chance(0.03)
          let gap = user.large_gaps ? userRng.int(10, 45) : userRng.int(1, 20)
          if (tie) gap = 0
          const high = Math.min(100, low + gap)
          const empty = userRng.chance(0.01)
          const winnerText = followsRule ? marked : plain
          let loserText = followsRule ? plain : marked
          if (empty) loserText = "EMPTY STRING"
          const winnerFirst = userRng.chance(0.5)
          const pair = [
            { content: winnerText, score: high, if_chosen: true },
            { content: loserText, score: low, if_chosen: false },
          ]
          const ordered = winnerFirst ? pair : [pair[1], pair[0]]
          ordered.forEach((r, i) => {
            entries.push({
              turn,
              role: "model",
              content: r.content,
              model_name: winner,
              model_provider: "demo",
              score: r.score,
              if_chosen: r.if_chosen,
              within_turn_id: i,
            })
          })
        }
        const interactionId = `int${interactionCounter++}`
        for (const entry of entries) {
          history.push({ ...entry })
          utteranceRows.push({
            utterance_id: `ut${utteranceCounter++}`,
            interaction_id: interactionId,
            conversation_id: conversationId,
            user_id: user.user_id,
            turn,
            within_turn_id: entry.within_turn_id,
            conversation_type: conversationType,
            user_prompt: prompt,
            model_response: entry.content,
            model_name: entry.model_name,
            model_provider: entry.model_provider,
            score: entry.score,
            if_chosen: entry.if_chosen,
            included_in_balanced_subset: true,
          })
        }
      }
      const seconds = 60 + userRng.int(0, 600)
      const performance = userRng.chance(0.2)
        ? null
        : { values: 50, fluency: 80, factuality: 70, safety: 90, diversity: 40, creativity: 60, helpfulness: 80 }
      conversationLines.push(
        JSON.stringify({
          conversation_id: conversationId,
          user_id: user.user_id,
          included_in_balanced_subset: true,
          conversation_type: conversationType,
          opening_prompt: history[0].content,
          conversation_turns: extraTurns + 1,
          conversation_history: history,
          performance_attributes: performance,
          choice_attributes: performance,
          open_feedback: "",
          generated_datetime: timestamp(start),
          timing_duration_s: seconds,
          timing_duration_mins: seconds / 60,
        }),
      )
      for (const row of utteranceRows) utteranceLines.push(JSON.stringify(row))
    }
  }

  const manifest: DemoManifest = {
    seed,
    marker: DEMO_MARKER,
    effects: DEMO_EFFECTS,
    sources: [...DEMO_SOURCES],
    reference_sources: [...DEMO_REFERENCE_SOURCES],
    users: [...users].sort((a, b) => Number(a.user_id.slice(4)) - Number(b.user_id.slice(4))),
  }
  const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join("")
  return { survey: text(surveyLines), conversations: text(conversationLines), utterances: text(utteranceLines), manifest }
}

/** Writes the demo files (survey.jsonl, conversations.jsonl, utterances.jsonl, manifest.json) into `dir`. */
export const writeDemo = (dir: string, options: DemoOptions = {}): DemoManifest => {
  const files = generateDemo(options)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, "survey.jsonl"), files.survey)
  writeFileSync(join(dir, "conversations.jsonl"), files.conversations)
  writeFileSync(join(dir, "utterances.jsonl"), files.utterances)
  writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(files.manifest, null, 2)}\n`)
  return files.manifest
}

/** Generates the demo in memory and reads it with the PRISM loader, as if from files. */
export const loadDemo = (options: DemoOptions = {}, prism: PrismOptions = {}): PrismLoadResult & { manifest: DemoManifest } => {
  const files = generateDemo(options)
  const from = prism.from ?? "conversations"
  const result = loadPrism(
    {
      survey: { file: "demo/survey.jsonl", text: files.survey },
      ...(from === "conversations"
        ? { conversations: { file: "demo/conversations.jsonl", text: files.conversations } }
        : { utterances: { file: "demo/utterances.jsonl", text: files.utterances } }),
    },
    prism,
  )
  return { ...result, manifest: files.manifest }
}

/**
 * Share of pairs whose chosen response carries the demo marker: the realised
 * label consistency of a pair set, which bounds the pref_acc a policy that
 * learned the rule can reach on it. Null for an empty set.
 */
export const demoMarkerShare = (pairs: ReadonlyArray<{ readonly chosen: string }>): number | null =>
  pairs.length === 0 ? null : pairs.filter((p) => p.chosen.startsWith(DEMO_MARKER)).length / pairs.length
