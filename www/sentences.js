// Practice sentences, in the style of Speechocean762's prompts (short everyday English read aloud).
export const SENTENCES = [
  "We call it bear.",
  "I want to go to the park this afternoon.",
  "The weather is nice today, let's take a walk.",
  "My brother likes to play football with his friends.",
  "Could you please tell me where the station is?",
  "She reads a book before she goes to sleep.",
  "There are three apples on the kitchen table.",
  "I usually drink a cup of tea in the morning.",
  "The children are singing a song in the classroom.",
  "He bought a new computer last weekend.",
];

/** What each score means, shown under it (Speechocean762's rubric, paraphrased). */
export const ASPECTS = {
  accuracy: "How correctly the sounds are pronounced: 9–10 clear and correct, 7–8 a few mistakes, 5–6 many unclear sounds, below 5 hard to understand.",
  fluency: "How smoothly you read: few pauses, no stammering or repeating.",
  prosody: "Rhythm and intonation: natural speed, stress and melody instead of word-by-word reading.",
  total: "The overall impression of the reading, combining the three.",
};
