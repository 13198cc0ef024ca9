/**
 * Split definitions shipped as data: the six PRISM user-attribute splits of the
 * reference DPO/WPO study, and exploratory splits for HH-RLHF transcripts.
 * They are written exactly as they would be under `splits:` in `pipeline.yaml`.
 */

/** The six PRISM splits. Median splits send ties to group B. */
export const STUDY_SPLITS = {
  S1_age: {
    description: "Young (18-34) vs older (35+) users; 'Prefer not to say' is left out",
    labels: { A: "Young 18-34", B: "Older 35+" },
    attribute: "age",
    A: { in: ["18-24 years old", "25-34 years old"] },
    B: { in: ["35-44 years old", "45-54 years old", "55-64 years old", "65+ years old"] },
    expected: "A>B",
  },
  S2_personalisation: {
    description: "Median split of the survey slider on personalisation (0-100)",
    labels: { A: "High", B: "Low" },
    attribute: "stated_prefs.personalisation",
    A: { gt: "median" },
    B: { lte: "median" },
    expected: "A>B",
  },
  S3_safety: {
    description: "Median split of the survey slider on safety (0-100)",
    labels: { A: "High", B: "Low" },
    attribute: "stated_prefs.safety",
    A: { gt: "median" },
    B: { lte: "median" },
    expected: "A<B",
  },
  S4_familiarity: {
    description: "Very familiar with language models vs somewhat or not familiar",
    labels: { A: "Very familiar", B: "Not/Somewhat" },
    attribute: "lm_familiarity",
    A: { in: ["Very familiar"] },
    B: { in: ["Somewhat familiar", "Not familiar at all"] },
    expected: "explor.",
  },
  S5_behavioral: {
    description: "Median split of each user's share of pairs with a score gap above 14",
    labels: { A: "High discriminators", B: "Low" },
    statistic: { of: "score_gap", kind: "share_above", threshold: 14 },
    A: { gt: "median" },
    B: { lte: "median" },
    expected: "explor.",
  },
  S6_region: {
    description: "Born in Europe or the UK vs born in the Americas",
    labels: { A: "Europe", B: "Americas" },
    attribute: "location.special_region",
    A: { in: ["Europe", "UK"] },
    B: { in: ["US", "Latin America and the Caribbean", "Northern America"] },
    expected: "A=B",
  },
} as const

/**
 * Exploratory splits for HH-RLHF transcripts, on the attributes its pairs have:
 * the number of human turns in the prompt and the prompt length in characters.
 */
export const HH_SPLITS = {
  H1_turns: {
    description: "Single-turn prompts vs prompts with earlier turns",
    labels: { A: "Single-turn", B: "Multi-turn" },
    unit: "pair",
    attribute: "human_turns",
    A: { lte: 1 },
    B: { gt: 1 },
    expected: "explor.",
  },
  H2_prompt_length: {
    description: "Median split of the prompt length in characters",
    labels: { A: "Long", B: "Short" },
    unit: "pair",
    attribute: "prompt_length",
    A: { gt: "median" },
    B: { lte: "median" },
    expected: "explor.",
  },
} as const
