// "Wrong? It was a ...": a person says what the image really was. With their consent the API
// keeps only the 28x28 input and that label (POST /api/predictions/{id}/correction).

import { ApiError, sendCorrection } from "./api.js";

const byId = (id) => document.getElementById(id);
const NOT_A_DIGIT = "none";

let current = null; // the prediction the form corrects

function choices() {
  return [...byId("correction-form").querySelectorAll("input[name=correction-digit]")];
}

function say(text, isError = false) {
  const status = byId("correction-status");
  status.textContent = text;
  status.classList.toggle("error-text", isError);
}

/** Readies the form for `result` (or hides it: nothing stored, nothing to correct). */
export function prepareCorrection(result) {
  const box = byId("correction");
  current = result?.prediction_id && result.input_url ? result : null;
  box.hidden = !current;
  if (!current) return;
  box.open = false;
  const form = byId("correction-form");
  form.reset();
  form.hidden = false;
  // "Wrong?" offers every other answer: not the one given.
  for (const input of choices()) {
    const given = result.is_digit === false ? NOT_A_DIGIT : String(result.predicted_digit);
    input.disabled = input.value === given;
  }
  say("");
}

function chosenLabel(value) {
  return value === NOT_A_DIGIT ? "not a digit" : `a ${value}`;
}

async function submit(event) {
  event.preventDefault();
  if (!current) return;
  const chosen = choices().find((input) => input.checked);
  if (!chosen) {
    say("Choose what it was first.", true);
    choices().find((input) => !input.disabled)?.focus();
    return;
  }
  if (!byId("correction-consent").checked) {
    say("Tick the box to agree first: nothing is kept without it.", true);
    byId("correction-consent").focus();
    return;
  }
  const digit = chosen.value === NOT_A_DIGIT ? null : Number(chosen.value);
  const button = byId("correction-send");
  button.disabled = true;
  say("Sending…");
  try {
    await sendCorrection(current.prediction_id, digit);
    byId("correction-form").hidden = true;
    say(`Thank you: kept as ${chosenLabel(chosen.value)}, with the 28×28 image only.`);
  } catch (err) {
    const gone = err instanceof ApiError && err.status === 404;
    say(
      gone
        ? "This image is gone from the server (images last a day), so it cannot be corrected any more."
        : "The correction could not be sent. Try again in a moment.",
      true,
    );
  } finally {
    button.disabled = false;
  }
}

export function wireCorrection() {
  byId("correction-form").addEventListener("submit", submit);
}
