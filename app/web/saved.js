// Saved searches on the search page: "Save this search" keeps the current query and filters as a saved search
// (POST /api/saved-searches), whose alerts the indexer sends to the news.alerts topic; the list under the form shows
// every saved search with "Search", "Delete" and its id. Loaded after app.js, whose state, $, element and update it
// uses. Everything is drawn as text.
"use strict";

function savedFields() {
  const fields = { name: $("saved-name").value.trim(), kind: $("saved-kind").value };
  if (state.q) fields.q = state.q;
  for (const name of ["entity", "topic", "source"]) if (state[name].length) fields[name] = state[name];
  return fields;
}

function savedNote(text, isError) {
  const note = $("saved-status");
  note.textContent = text;
  note.className = isError ? "error" : "hint";
}

async function loadSaved() {
  const list = $("saved-list");
  let answer;
  try {
    const response = await fetch("api/saved-searches");
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
  } catch (error) {
    savedNote("Saved searches cannot be read: " + error.message, true);
    return;
  }
  list.replaceChildren();
  for (const saved of answer.saved_searches) {
    const item = element("li", null, "saved-item");
    const what = [saved.q, ...saved.entity, ...saved.topic, ...saved.source].filter(Boolean).join(" · ");
    item.append(element("strong", saved.name), " ", element("span", what, "hint"), " ");
    item.append(element("span", saved.kind.replace("_", " "), "saved-kind"), " ", element("code", saved.id), " ");
    const run = element("button", "Search");
    run.type = "button";
    run.addEventListener("click", () => {
      Object.assign(state, { q: saved.q, entity: saved.entity, topic: saved.topic, source: saved.source, offset: 0 });
      update(true);
    });
    const remove = element("button", "Delete");
    remove.type = "button";
    remove.addEventListener("click", async () => {
      const response = await fetch("api/saved-searches/" + encodeURIComponent(saved.id), { method: "DELETE" });
      savedNote(response.ok ? "Deleted " + saved.name + "." : "Not deleted (" + response.status + ").", !response.ok);
      loadSaved();
    });
    item.append(run, " ", remove);
    list.append(item);
  }
  $("saved-box").hidden = false;
}

async function saveSearch(event) {
  event.preventDefault();
  const fields = savedFields();
  if (!fields.name) fields.name = fields.q || [...(fields.entity || []), ...(fields.topic || [])].join(", ");
  const response = await fetch("api/saved-searches", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(fields),
  });
  const answer = await response.json();
  if (!response.ok) {
    savedNote("Not saved: " + answer.error, true);
    return;
  }
  savedNote("Saved as " + answer.id + ": alerts go to the news.alerts topic (newswire alerts --saved " + answer.id + ").");
  $("saved-name").value = "";
  loadSaved();
}

document.addEventListener("DOMContentLoaded", () => {
  $("saved-form").addEventListener("submit", saveSearch);
  loadSaved();
});
