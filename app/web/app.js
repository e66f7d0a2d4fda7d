// The newswire search page: reads the form and the address bar, asks /api/search, draws hits, facets and coverage.
// Its "Show" choice lists stories instead (/api/stories), and a story's articles come from /api/stories/{id}.
// Everything from the store is put in the page as text (textContent), never as markup; the highlight snippets are
// escaped HTML whose only tags are the store's <em> and </em>: they are split on those, which alone become elements,
// and the rest is unescaped into text nodes. The filter fields suggest names from /api/suggest as the user types.
"use strict";

const PAGE_SIZE = 10;
const FILTERS = { entity: "entities", topic: "topics", source: "sources" };
const SVG = "http://www.w3.org/2000/svg";

const state = { q: "", entity: [], topic: [], source: [], from: "", to: "", sort: "relevance", histogram: "day",
  collapse: false, offset: 0, view: "articles", story: "" };
const VIEWS = ["articles", "latest", "size"];
let pending = null;

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'" };
const unescapeHtml = (text) => text.replace(/&(?:amp|lt|gt|quot|#x27);/g, (entity) => ENTITIES[entity]);

// A snippet with the store's <em> marks: text nodes for the text, <em> elements for the marks, nothing else.
function snippet(text) {
  const paragraph = element("p", null, "snippet");
  let open = null;
  for (const part of String(text).split(/(<\/?em>)/)) {
    if (part === "<em>") {
      if (!open) { open = element("em"); paragraph.append(open); }
    } else if (part === "</em>") {
      open = null;
    } else if (part) {
      (open || paragraph).append(document.createTextNode(unescapeHtml(part)));
    }
  }
  return paragraph;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function utc(iso, withTime) {
  const text = String(iso).replace("T", " ");
  return withTime ? text.slice(0, 16) + " UTC" : text.slice(0, 10);
}

function nextDay(date) {
  const day = new Date(date + "T00:00:00Z");
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

// --- state <-> address bar <-> form ------------------------------------------------------------------------------

function readAddress() {
  const params = new URLSearchParams(location.search);
  state.q = params.get("q") || "";
  for (const name of Object.keys(FILTERS)) state[name] = params.getAll(name).filter(Boolean);
  state.from = params.get("from") || "";
  state.to = params.get("to") || "";
  state.sort = params.get("sort") === "date" ? "date" : "relevance";
  state.histogram = params.get("histogram") === "hour" ? "hour" : "day";
  state.collapse = params.get("collapse") === "true";
  const offset = params.get("offset") || "0";
  state.offset = /^[0-9]{1,5}$/.test(offset) ? Number(offset) : 0; // "1e3" is not 1
  state.view = VIEWS.includes(params.get("view")) ? params.get("view") : "articles";
  state.story = params.get("story") || "";
}

function writeAddress(push) {
  const params = new URLSearchParams();
  if (state.q) params.set("q", state.q);
  for (const name of Object.keys(FILTERS)) for (const value of state[name]) params.append(name, value);
  for (const name of ["from", "to"]) if (state[name]) params.set(name, state[name]);
  if (state.sort !== "relevance") params.set("sort", state.sort);
  if (state.histogram !== "day") params.set("histogram", state.histogram);
  if (state.collapse) params.set("collapse", "true");
  if (state.offset) params.set("offset", String(state.offset));
  if (state.view !== "articles") params.set("view", state.view);
  if (state.story) params.set("story", state.story);
  const address = params.toString() ? "?" + params : location.pathname;
  if (push) history.pushState(null, "", address); else history.replaceState(null, "", address);
}

function fillForm() {
  $("q").value = state.q;
  $("from").value = state.from;
  $("to").value = state.to;
  $("sort").value = state.sort;
  $("histogram").value = state.histogram;
  $("collapse").checked = state.collapse;
  $("view").value = state.view;
  for (const name of Object.keys(FILTERS)) $(name).value = "";
}

function readForm() {
  state.q = $("q").value.trim();
  for (const name of Object.keys(FILTERS)) {
    const value = $(name).value.trim();
    if (value && !state[name].includes(value)) state[name].push(value);
  }
  state.from = $("from").value;
  state.to = $("to").value;
  state.sort = $("sort").value;
  state.histogram = $("histogram").value;
  state.collapse = $("collapse").checked;
  state.view = $("view").value;
  state.story = "";
  state.offset = 0;
}

function apiParams() {
  const params = new URLSearchParams({ size: String(PAGE_SIZE), offset: String(state.offset), facets: "true",
    histogram: state.histogram, sort: state.sort });
  if (state.q) params.set("q", state.q);
  for (const name of Object.keys(FILTERS)) for (const value of state[name]) params.append(name, value);
  if (state.from) params.set("since", state.from);
  if (state.to) params.set("until", nextDay(state.to));
  if (state.collapse) params.set("collapse_duplicates", "true");
  return params;
}

function storyParams() {
  const params = apiParams();
  for (const name of ["facets", "histogram", "collapse_duplicates"]) params.delete(name);
  params.set("sort", state.view);
  return params;
}

function openStory(id) {
  state.story = id;
  state.offset = 0;
  update(true);
  $("results-heading").scrollIntoView();
}

// --- actions -------------------------------------------------------------------------------------------------------

function addFilter(name, value) {
  if (!state[name].includes(value)) state[name].push(value);
  state.offset = 0;
  update(true);
}

function removeFilter(name, value) {
  state[name] = state[name].filter((kept) => kept !== value);
  state.offset = 0;
  update(true);
}

function update(push) {
  writeAddress(push);
  fillForm();
  search();
}

async function search() {
  if (pending) pending.abort();
  pending = new AbortController();
  const status = $("status");
  status.textContent = "Searching…";
  status.classList.remove("error");
  drawActiveFilters();
  let body;
  let response;
  try {
    const address = state.story ? "api/stories/" + encodeURIComponent(state.story)
      : state.view === "articles" ? "api/search?" + apiParams() : "api/stories?" + storyParams();
    response = await fetch(address, { signal: pending.signal, headers: { Accept: "application/json" } });
    body = await response.json();
  } catch (error) {
    if (error.name === "AbortError") return;
    showError("The search service did not answer; try again in a moment.");
    return;
  }
  if (!response.ok) {
    showError(body && body.error ? body.error : "The search failed (" + response.status + ").");
    return;
  }
  if (state.story) drawStory(body);
  else if (state.view === "articles") drawResult(body);
  else drawStories(body);
  document.dispatchEvent(new CustomEvent("newswire:searched"));  // live.js follows the search now shown
}

function showError(message) {
  const status = $("status");
  status.textContent = message;
  status.classList.add("error");
  $("hits").replaceChildren();
  $("previous").disabled = true;
  $("next").disabled = true;
  for (const name of Object.keys(FILTERS)) $("facet-" + FILTERS[name]).replaceChildren();
  $("coverage").replaceChildren();
}

// --- drawing -------------------------------------------------------------------------------------------------------

function drawActiveFilters() {
  const list = $("active-filters");
  list.replaceChildren();
  for (const name of Object.keys(FILTERS)) {
    for (const value of state[name]) {
      const item = element("li");
      const button = element("button", null, "chip");
      button.type = "button";
      button.setAttribute("aria-label", "Remove " + name + " filter " + value);
      button.append(element("span", name + ": ", "chip-kind"), value, element("span", " ×", "chip-x"));
      button.addEventListener("click", () => removeFilter(name, value));
      item.append(button);
      list.append(item);
    }
  }
  if (state.story) {
    const item = element("li");
    const button = element("button", null, "chip");
    button.type = "button";
    button.setAttribute("aria-label", "Leave the story " + state.story);
    button.append(element("span", "story: ", "chip-kind"), state.story, element("span", " ×", "chip-x"));
    button.addEventListener("click", () => { state.story = ""; update(true); });
    item.append(button);
    list.append(item);
  }
  $("active").hidden = list.children.length === 0;
}

// One page of a listing: the count line, the numbered items and the paging buttons.
function drawPage(items, total, noun, nouns) {
  const first = state.offset + 1;
  const last = state.offset + items.length;
  $("status").textContent = total === 0 ? "No " + noun + " matches."
    : total + (total === 1 ? " " + noun + " matches" : " " + nouns + " match") + "; showing " + first + "–" + last + ".";
  const list = $("hits");
  list.replaceChildren(...items);
  list.start = first;
  $("previous").disabled = state.offset === 0;
  $("next").disabled = last >= total;
}

function drawResult(result) {
  drawPage((result.hits || []).map(drawHit), result.total, "article", "articles");
  const facets = result.facets || {};
  for (const name of Object.keys(FILTERS)) drawFacet(name, facets[FILTERS[name]] || []);
  drawHistogram(result.histogram || []);
}

function drawHit(hit) {
  const item = element("li", null, "hit");
  const heading = element("h3");
  const url = safeUrl(hit.url);
  if (url) {
    const link = element("a", hit.title);
    link.href = url;
    link.rel = "noopener noreferrer";
    heading.append(link);
  } else {
    heading.textContent = hit.title;
  }
  const meta = element("p", null, "meta");
  const time = element("time", utc(hit.published, true));
  time.dateTime = hit.published;
  meta.append(hit.source + " · ", time);
  if (hit.topics && hit.topics.length) {
    meta.append(" · " + hit.topics.map((topic) => topic.name || topic.label).join(", "));
  }
  if (hit.duplicate_of) meta.append(" · syndicated copy");
  item.append(heading, meta);
  const storyline = hit.storyline_id || hit.story_id;
  if (storyline && storyline !== state.story) {
    const more = element("button", "Whole storyline", "story-link");
    more.type = "button";
    more.title = "Every event of this storyline, and their articles, oldest first";
    more.addEventListener("click", () => openStory(storyline));
    meta.append(" · ", more);
  }
  for (const text of (hit.highlights || []).slice(0, 2)) item.append(snippet(text));
  if (hit.matched_entities && hit.matched_entities.length) {
    const entities = element("ul", null, "chips entities");
    entities.setAttribute("aria-label", "Matched entities");
    for (const name of hit.matched_entities) {
      const button = element("button", name, "chip");
      button.type = "button";
      button.title = "Only articles naming " + name;
      button.addEventListener("click", () => addFilter("entity", name));
      const entry = element("li");
      entry.append(button);
      entities.append(entry);
    }
    item.append(entities);
  }
  return item;
}

function plural(count, word) {
  return count + " " + word + (count === 1 ? "" : "s");
}

function clearSide() {
  $("previous").disabled = true;
  $("next").disabled = true;
  for (const name of Object.keys(FILTERS)) {
    $("facet-" + FILTERS[name]).replaceChildren(element("li", "Counted when articles are shown.", "empty"));
  }
  $("coverage").replaceChildren(element("p", "Drawn when articles are shown.", "empty"));
}

function storyMeta(story, tag) {
  const meta = element(tag || "p", null, "meta");
  const first = element("time", utc(story.first_published, true));
  first.dateTime = story.first_published;
  const last = element("time", utc(story.last_published, true));
  last.dateTime = story.last_published;
  const copies = story.copies === 0 ? "" : story.copies === 1 ? " (1 syndicated copy)"
    : " (" + story.copies + " syndicated copies)";
  const events = story.events > 1 ? plural(story.events, "event") + " · " : "";
  meta.append(events + plural(story.size, "article") + copies + " · " + plural(story.sources, "source") + " · ",
    first, " – ", last);
  return meta;
}

function entityChips(entities) {
  const list = element("ul", null, "chips entities");
  list.setAttribute("aria-label", "Most named entities");
  for (const entity of entities) {
    const button = element("button", entity.name + " (" + entity.count + ")", "chip");
    button.type = "button";
    button.title = "Only stories with an article naming " + entity.name + " (" + entity.label + ")";
    button.addEventListener("click", () => addFilter("entity", entity.name));
    const entry = element("li");
    entry.append(button);
    list.append(entry);
  }
  return list;
}

function drawStories(result) {
  drawPage((result.stories || []).map((story) => {
    const item = element("li", null, "hit story");
    const heading = element("h3");
    const open = element("button", story.title, "story-title");
    open.type = "button";
    open.title = "Every article of this story, oldest first";
    open.addEventListener("click", () => openStory(story.story_id));
    heading.append(open);
    item.append(heading, storyMeta(story));
    if (story.top_entities && story.top_entities.length) item.append(entityChips(story.top_entities));
    return item;
  }), result.total, "story", "stories");
  clearSide();
}

function drawStory(result) {
  const story = result.story;
  const status = $("status");
  status.replaceChildren(element("strong", story.title), " ", storyMeta(story, "span"));
  if (result.articles_total > result.articles.length) {
    status.append(" ", element("span", "The " + result.articles.length + " oldest of " + result.articles_total
      + " articles.", "meta"));
  }
  const list = $("hits");
  const byId = new Map(result.articles.map((article) => [article.id, article]));
  const events = result.events || [];
  if (events.length > 1) {
    // A storyline: its events as a timeline, each event's articles under it.
    const items = [];
    for (const event of events) {
      const head = element("li", null, "event-head");
      const when = element("time", utc(event.first_published, true));
      when.dateTime = event.first_published;
      head.append(element("h3", event.title), element("p", null, "meta"));
      head.lastChild.append(when, " · " + plural(event.size, "article"));
      items.push(head);
      for (const id of event.article_ids) {
        if (!byId.has(id)) continue;
        const hit = drawHit(byId.get(id));
        hit.value = items.filter((item) => item.className !== "event-head").length + 1;  // heads are not numbered
        items.push(hit);
      }
    }
    list.replaceChildren(...items);
  } else {
    list.replaceChildren(...result.articles.map(drawHit));
  }
  list.start = 1;
  clearSide();
}

function drawFacet(name, counts) {
  const list = $("facet-" + FILTERS[name]);
  list.replaceChildren();
  if (!counts.length) list.append(element("li", "none", "empty"));
  for (const facet of counts) {
    const item = element("li");
    const button = element("button", null, "facet");
    const active = state[name].includes(facet.value);
    button.type = "button";
    button.setAttribute("aria-pressed", String(active));
    const shown = facet.name || facet.value;
    button.title = (active ? "Remove the filter " : "Only articles with ") + name + " " + shown;
    button.append(element("span", shown, "facet-value"), element("span", String(facet.count), "facet-count"));
    button.addEventListener("click", () => (active ? removeFilter : addFilter)(name, facet.value));
    item.append(button);
    list.append(item);
  }
}

// The stores return only non-empty buckets: bars are placed by their time, so quiet hours show as gaps.
function drawHistogram(buckets) {
  const box = $("coverage");
  box.replaceChildren();
  if (!buckets.length) {
    box.append(element("p", "No articles in range.", "empty"));
    return;
  }
  const hourly = state.histogram === "hour";
  const interval = hourly ? 3600e3 : 86400e3;
  const first = Date.parse(buckets[0].start);
  const last = Date.parse(buckets[buckets.length - 1].start);
  const slots = Math.round((last - first) / interval) + 1;
  const peak = Math.max(...buckets.map((bucket) => bucket.count));
  const top = buckets.reduce((best, bucket) => (bucket.count > best.count ? bucket : best));
  const width = 300;
  const height = 90;
  const step = width / slots;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Articles per " + state.histogram + " from " + label(buckets[0].start) + " to "
    + label(buckets[buckets.length - 1].start) + "; most: " + peak + " at " + label(top.start));
  for (const bucket of buckets) {
    const slot = Math.round((Date.parse(bucket.start) - first) / interval);
    const barHeight = Math.max(2, (height - 4) * bucket.count / peak);
    const bar = document.createElementNS(SVG, "rect");
    bar.setAttribute("x", String(slot * step + (slots > 1 ? step * 0.1 : 0)));
    bar.setAttribute("width", String(Math.max(0.8, slots > 1 ? step * 0.8 : step)));
    bar.setAttribute("y", String(height - barHeight));
    bar.setAttribute("height", String(barHeight));
    const title = document.createElementNS(SVG, "title");
    title.textContent = label(bucket.start) + ": " + bucket.count + (bucket.count === 1 ? " article" : " articles");
    bar.append(title);
    svg.append(bar);
  }
  const axis = element("p", null, "axis");
  axis.append(element("span", label(buckets[0].start)), element("span", "max " + peak + " per " + state.histogram),
    element("span", label(buckets[buckets.length - 1].start)));
  box.append(svg, axis);

  function label(iso) {
    return hourly ? String(iso).slice(5, 13).replace("T", " ") + "h" : String(iso).slice(0, 10);
  }
}

// --- wiring --------------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    readForm();
    update(true);
  });
  for (const id of ["sort", "histogram", "collapse", "from", "to", "view"]) {
    $(id).addEventListener("change", () => { readForm(); update(true); });
  }
  $("previous").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    update(true);
    $("results-heading").scrollIntoView();
  });
  $("next").addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    update(true);
    $("results-heading").scrollIntoView();
  });
  window.addEventListener("popstate", () => { readAddress(); fillForm(); search(); });
  readAddress();
  fillForm();
  search();
});

// Names as the user types: each filter field gets a <datalist> filled from /api/suggest (after a short pause).
function suggestNames(field) {
  const input = $(field);
  if (!input) return;
  const list = document.createElement("datalist");
  list.id = field + "-suggestions";
  input.after(list);
  input.setAttribute("list", list.id);
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const prefix = input.value.trim();
    if (!prefix) { list.replaceChildren(); return; }
    timer = setTimeout(async () => {
      try {
        const params = new URLSearchParams({ prefix: prefix.slice(0, 100), field, size: "8" });
        const response = await fetch("/api/suggest?" + params);
        if (!response.ok) return;
        const found = await response.json();
        list.replaceChildren(...found.suggestions.map((suggestion) => {
          const option = document.createElement("option");
          option.value = suggestion.value;
          option.label = suggestion.name + " (" + suggestion.count + ")";
          return option;
        }));
      } catch {
        // suggestions are a convenience: the search itself still works without them
      }
    }, 150);
  });
}
for (const field of Object.keys(FILTERS)) suggestNames(field);
