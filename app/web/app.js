// The newswire search page: reads the form and the address bar, asks /api/search, draws hits, facets and coverage.
// Its "Show" choice lists stories instead (/api/stories), and a story's articles come from /api/stories/{id}, its
// coverage, entities and sources from /api/search with the story as a filter. "#article=<id>" in the address opens
// one article (/api/articles/{id}) in the page, so an article without a link can be read too. Times are shown in
// the reader's time zone, with UTC in their tooltip. The masthead says what /api/health says.
// Everything from the store is put in the page as text (textContent), never as markup; the highlight snippets are
// escaped HTML whose only tags are the store's <em> and </em>: they are split on those, which alone become elements,
// and the rest is unescaped into text nodes. The filter fields suggest names from /api/suggest as the user types.
"use strict";

const PAGE_SIZE = 10;
const HIT_ENTITIES = 12;  // a hit shows this many of its entities; the article view shows them all
const FILTERS = { entity: "entities", topic: "topics", source: "sources" };
const SVG = "http://www.w3.org/2000/svg";
const PHONE = "(max-width: 600px)";
const HOUR = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}$/;
const DAY = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

// from and to are UTC days ("2023-06-24") or hours ("2023-06-24T06", from a click on an hourly bar), both inclusive.
const state = { q: "", entity: [], topic: [], source: [], from: "", to: "", sort: "relevance", histogram: "day",
  collapse: false, offset: 0, view: "articles", story: "", level: "storyline" };
const VIEWS = ["articles", "latest", "size"];
const topicNames = new Map();  // label -> name, from every hit and facet drawn (the article JSON has labels only)
let pending = null;
let shownSearch = null;  // location.search of the listing drawn, so a change of the #article part alone keeps it
let shownArticle = null;

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
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

function plural(count, word) {
  return count + " " + word + (count === 1 ? "" : "s");
}

// --- times: the reader's zone on the page, UTC in the tooltip ----------------------------------------------------

const LOCAL_TIME = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", timeZoneName: "short" });

function utcText(iso) {
  return String(iso).replace("T", " ").slice(0, 16) + " UTC";
}

function timeElement(iso) {
  const node = element("time");
  const moment = new Date(iso);
  node.dateTime = String(iso);
  node.textContent = Number.isNaN(moment.getTime()) ? String(iso) : LOCAL_TIME.format(moment);
  node.title = utcText(iso);
  return node;
}

// The publication time, marked when the feed gave none and it is the time the article was first fetched.
function publishedNodes(article) {
  const time = timeElement(article.published);
  if (!article.published_estimated) return [time];
  time.title += "; estimated: the feed gave no date, this is when the article was first fetched";
  const mark = element("span", "date estimated", "estimated");
  mark.title = time.title;
  return [time, " ", mark];
}

function nextDay(date) {
  const day = new Date(date + "T00:00:00Z");
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

function nextHour(hour) {
  return new Date(Date.parse(hour + ":00:00Z") + 3600e3).toISOString().slice(0, 19) + "Z";
}

function rangeText() {
  const shown = (value) => (HOUR.test(value) ? value.replace("T", " ") + ":00" : value);
  if (state.from && state.from === state.to) {
    return HOUR.test(state.from) ? shown(state.from) + "–" + state.from.slice(11) + ":59 UTC" : state.from + " (UTC)";
  }
  return (state.from ? shown(state.from) : "…") + " – " + (state.to ? shown(state.to) : "…") + " (UTC)";
}

// --- state <-> address bar <-> form ------------------------------------------------------------------------------

function readAddress() {
  const params = new URLSearchParams(location.search);
  const moment = (value) => (DAY.test(value) || HOUR.test(value) ? value : "");
  state.q = params.get("q") || "";
  for (const name of Object.keys(FILTERS)) state[name] = params.getAll(name).filter(Boolean);
  state.from = moment(params.get("from") || "");
  state.to = moment(params.get("to") || "");
  state.sort = params.get("sort") === "date" ? "date" : "relevance";
  state.histogram = params.get("histogram") === "hour" ? "hour" : "day";
  state.collapse = params.get("collapse") === "true";
  const offset = params.get("offset") || "0";
  state.offset = /^[0-9]{1,5}$/.test(offset) ? Number(offset) : 0; // "1e3" is not 1
  state.view = VIEWS.includes(params.get("view")) ? params.get("view") : "articles";
  state.story = params.get("story") || "";
  state.level = params.get("level") === "event" ? "event" : "storyline";
}

// The address of the search shown; it has no "#article=" part, so a new search also leaves an open article.
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
  if (state.story && state.level === "event") params.set("level", "event");
  const address = params.toString() ? "?" + params : location.pathname;
  if (push) history.pushState(null, "", address); else history.replaceState(null, "", address);
}

function fillForm() {
  $("q").value = state.q;
  $("from").value = state.from.slice(0, 10);
  $("to").value = state.to.slice(0, 10);
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
  // A date field still showing the day of an hour picked on the chart keeps that hour.
  for (const name of ["from", "to"]) if ($(name).value !== state[name].slice(0, 10)) state[name] = $(name).value;
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
  if (state.from) params.set("since", HOUR.test(state.from) ? state.from + ":00:00Z" : state.from);
  if (state.to) params.set("until", HOUR.test(state.to) ? nextHour(state.to) : nextDay(state.to));
  if (state.collapse) params.set("collapse_duplicates", "true");
  return params;
}

function storyParams() {
  const params = apiParams();
  for (const name of ["facets", "histogram", "collapse_duplicates"]) params.delete(name);
  params.set("sort", state.view);
  return params;
}

// --- actions -------------------------------------------------------------------------------------------------------

function openStory(id, level) {
  state.story = id;
  state.level = level === "event" ? "event" : "storyline";
  state.offset = 0;
  update(true);
  $("results-heading").scrollIntoView();
}

// A filter applies to articles: from a story's view it searches all articles with it.
function addFilter(name, value) {
  if (!state[name].includes(value)) state[name].push(value);
  state.story = "";
  state.offset = 0;
  update(true);
}

function removeFilter(name, value) {
  state[name] = state[name].filter((kept) => kept !== value);
  state.offset = 0;
  update(true);
}

// A click on a bar of the chart: only that day (then counted per hour) or that hour.
function narrowTo(start, hourly) {
  const moment = hourly ? String(start).slice(0, 13) : String(start).slice(0, 10);
  state.from = moment;
  state.to = moment;
  if (!hourly) state.histogram = "hour";
  state.story = "";
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
  shownSearch = location.search;
  closeArticle();
  const status = $("status");
  status.textContent = "Searching…";
  status.classList.remove("error");
  drawActiveFilters();
  let body;
  let response;
  try {
    const address = state.story
      ? "api/stories/" + encodeURIComponent(state.story) + (state.level === "event" ? "?level=event" : "")
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
  $("histogram-heading").textContent = state.story ? "Coverage of this " + state.level + " (UTC)"
    : "Coverage over time (UTC)";
  if (state.story) drawStory(body, pending.signal);
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

function chip(text, title, onClick, className) {
  const item = element("li");
  const button = element("button", null, "chip" + (className ? " " + className : ""));
  button.type = "button";
  button.title = title;
  button.append(...(Array.isArray(text) ? text : [text]));
  button.addEventListener("click", onClick);
  item.append(button);
  return item;
}

function removableChip(kind, value, label, onClick) {
  const item = chip([element("span", kind + ": ", "chip-kind"), value, element("span", " ×", "chip-x")],
    "Remove this filter", onClick);
  item.firstChild.setAttribute("aria-label", label);
  return item;
}

function drawActiveFilters() {
  const list = $("active-filters");
  list.replaceChildren();
  for (const name of Object.keys(FILTERS)) {
    for (const value of state[name]) {
      list.append(removableChip(name, value, "Remove " + name + " filter " + value, () => removeFilter(name, value)));
    }
  }
  if (state.from || state.to) {
    list.append(removableChip("dates", rangeText(), "Remove the date range " + rangeText(), () => {
      state.from = "";
      state.to = "";
      state.offset = 0;
      update(true);
    }));
  }
  if (state.story) {
    list.append(removableChip(state.level, state.story, "Leave the " + state.level + " " + state.story, () => {
      state.story = "";
      update(true);
    }));
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
  drawSide(result);
}

function drawSide(result) {
  const facets = result.facets || {};
  for (const name of Object.keys(FILTERS)) drawFacet(name, facets[FILTERS[name]] || []);
  drawHistogram(result.histogram || []);
}

function articleAddress(id) {
  return "#article=" + encodeURIComponent(id);
}

function drawHit(hit) {
  const item = element("li", null, "hit");
  item.dataset.id = hit.id;
  const heading = element("h3");
  const url = safeUrl(hit.url);
  const title = element("a", hit.title);
  title.href = url || articleAddress(hit.id);  // an article without a link opens in the page
  if (url) title.rel = "noopener noreferrer";
  heading.append(title);
  const meta = element("p", null, "meta");
  meta.append(hit.source + " · ", ...publishedNodes(hit));
  for (const topic of hit.topics || []) if (topic.name) topicNames.set(topic.label, topic.name);
  if (hit.topics && hit.topics.length) {
    meta.append(" · " + hit.topics.map((topic) => topic.name || topic.label).join(", "));
  }
  if (hit.duplicate_of) meta.append(" · syndicated copy");
  if (hit.previous_title) {
    const changed = element("span", "headline changed", "estimated");
    changed.title = "Was: " + hit.previous_title;
    meta.append(" · ", changed);
  }
  const details = element("a", "Article view", "story-link");
  details.href = articleAddress(hit.id);
  details.title = "Everything newswire holds about this article";
  meta.append(" · ", details);
  item.append(heading, meta);
  const storyline = hit.storyline_id || hit.story_id;
  if (storyline && !(state.story === storyline && state.level === "storyline")) {
    const more = element("button", "Whole storyline", "story-link");
    more.type = "button";
    more.title = "Every event of this storyline, and their articles, oldest first";
    more.addEventListener("click", () => openStory(storyline, "storyline"));
    meta.append(" · ", more);
  }
  for (const text of (hit.highlights || []).slice(0, 2)) item.append(snippet(text));
  const entities = hitEntities(hit);
  if (entities) item.append(entities);
  return item;
}

// The article's entities, those the search named (matched_entities) first and marked, then the most mentioned.
function hitEntities(hit) {
  const matched = new Set(hit.matched_entities || []);
  const entities = [...(hit.entities || [])].sort((a, b) => (matched.has(b.name) - matched.has(a.name))
    || (b.count - a.count) || a.name.localeCompare(b.name));
  if (!entities.length) return null;
  const list = element("ul", null, "chips entities");
  list.setAttribute("aria-label", "Entities named in the article");
  for (const entity of entities.slice(0, HIT_ENTITIES)) {
    const named = matched.has(entity.name);
    const title = (named ? "Named by the search. " : "") + entity.label + ", mentioned " + entity.count
      + "×. Only articles naming " + entity.name;
    list.append(chip(entity.name, title, () => addFilter("entity", entity.name), named ? "matched" : ""));
  }
  if (entities.length > HIT_ENTITIES) {
    const more = element("a", "and " + (entities.length - HIT_ENTITIES) + " more", "story-link");
    more.href = articleAddress(hit.id);
    const item = element("li");
    item.append(more);
    list.append(item);
  }
  return list;
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
  const copies = story.copies === 0 ? "" : story.copies === 1 ? " (1 syndicated copy)"
    : " (" + story.copies + " syndicated copies)";
  const events = story.events > 1 ? plural(story.events, "event") + " · " : "";
  meta.append(events + plural(story.size, "article") + copies + " · " + plural(story.sources, "source") + " · ",
    timeElement(story.first_published), " – ", timeElement(story.last_published));
  return meta;
}

function entityChips(entities) {
  const list = element("ul", null, "chips entities");
  list.setAttribute("aria-label", "Most named entities");
  for (const entity of entities) {
    list.append(chip(entity.name + " (" + entity.count + ")",
      "Only articles naming " + entity.name + " (" + entity.label + ")", () => addFilter("entity", entity.name)));
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
    open.addEventListener("click", () => openStory(story.story_id, story.level));
    heading.append(open);
    item.append(heading, storyMeta(story));
    if (story.top_entities && story.top_entities.length) item.append(entityChips(story.top_entities));
    return item;
  }), result.total, "story", "stories");
  clearSide();
}

function drawStory(result, signal) {
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
    let number = 0;
    for (const event of events) {
      const head = element("li", null, "event-head");
      const open = element("button", event.title, "story-title");
      open.type = "button";
      open.title = "Only this event's articles, with its own coverage";
      open.addEventListener("click", () => openStory(event.event_id, "event"));
      head.append(element("h3"), element("p", null, "meta"));
      head.firstChild.append(open);
      head.lastChild.append(timeElement(event.first_published), " · " + plural(event.size, "article"));
      items.push(head);
      for (const id of event.article_ids) {
        if (!byId.has(id)) continue;
        const hit = drawHit(byId.get(id));
        number += 1;
        hit.value = number;  // event heads are not numbered
        items.push(hit);
      }
    }
    list.replaceChildren(...items);
  } else {
    list.replaceChildren(...result.articles.map(drawHit));
  }
  list.start = 1;
  $("previous").disabled = true;
  $("next").disabled = true;
  drawStorySide(story, signal);
}

// The story's coverage, entities and sources: a search with the story as its filter, counting all its articles.
async function drawStorySide(story, signal) {
  const params = new URLSearchParams({ size: "0", facets: "true", histogram: state.histogram });
  params.set(story.level === "event" ? "event" : "storyline", story.story_id);
  try {
    const response = await fetch("api/search?" + params, { signal, headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    drawSide(await response.json());
  } catch (error) {
    if (error.name !== "AbortError") clearSide();
  }
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
    if (name === "topic" && facet.name) topicNames.set(facet.value, facet.name);
    button.title = (active ? "Remove the filter " : "Only articles with ") + name + " " + shown;
    button.append(element("span", shown, "facet-value"), element("span", String(facet.count), "facet-count"));
    button.addEventListener("click", () => (active ? removeFilter : addFilter)(name, facet.value));
    item.append(button);
    list.append(item);
  }
}

// A step of 1, 2 or 5 times a power of ten that divides 0..peak into at most four parts.
function countStep(peak) {
  for (let power = 1; ; power *= 10) {
    for (const step of [1, 2, 5]) if (peak / (step * power) <= 4) return step * power;
  }
}

// The stores return only non-empty buckets: bars are placed by their time, so quiet hours show as gaps. The y-axis
// counts articles; a click on a bar (or Enter on it) narrows the search to the bar's day or hour.
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
  const step = countStep(peak);
  const ceiling = Math.ceil(peak / step) * step;
  const [width, height, left, above, below] = [300, 130, 30, 8, 8];
  const plot = height - above - below;
  const slotWidth = (width - left) / slots;
  const svg = svgElement("svg", { viewBox: "0 0 " + width + " " + height, class: "chart", role: "group",
    "aria-label": "Articles per " + state.histogram + " from " + label(buckets[0].start) + " to "
      + label(buckets[buckets.length - 1].start) + "; most: " + peak + " at " + label(top.start) });
  for (let count = 0; count <= ceiling; count += step) {
    const y = above + plot - plot * count / ceiling;
    svg.append(svgElement("line", { x1: left - 3, x2: width, y1: y, y2: y, class: "grid" }));
    const tick = svgElement("text", { x: left - 6, y: y + 4, class: "tick" });
    tick.textContent = String(count);
    svg.append(tick);
  }
  for (const bucket of buckets) {
    const slot = Math.round((Date.parse(bucket.start) - first) / interval);
    const barHeight = Math.max(1.5, plot * bucket.count / ceiling);
    const text = label(bucket.start) + ": " + plural(bucket.count, "article") + "; click to search only this "
      + state.histogram;
    const bar = svgElement("rect", { x: left + slot * slotWidth + (slots > 1 ? slotWidth * 0.1 : 0),
      width: Math.max(0.8, slots > 1 ? slotWidth * 0.8 : slotWidth), y: above + plot - barHeight,
      height: barHeight, tabindex: 0, role: "button", "aria-label": text, "data-start": bucket.start });
    const title = svgElement("title", {});
    title.textContent = text;
    bar.append(title);
    bar.addEventListener("click", () => narrowTo(bucket.start, hourly));
    bar.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); narrowTo(bucket.start, hourly); }
    });
    svg.append(bar);
  }
  const axis = element("p", null, "axis");
  axis.append(element("span", label(buckets[0].start)), element("span", "articles per " + state.histogram));
  if (buckets.length > 1) axis.append(element("span", label(buckets[buckets.length - 1].start)));
  box.append(svg, axis);

  function label(iso) {
    return hourly ? String(iso).slice(5, 13).replace("T", " ") + "h" : String(iso).slice(0, 10);
  }
}

// --- one article, in the page (#article=<id>) --------------------------------------------------------------------

function articleIdInAddress() {
  const match = /^#article=(.+)$/.exec(location.hash);
  if (!match) return null;
  try { return decodeURIComponent(match[1]); } catch { return null; }
}

function routeArticle() {
  const id = articleIdInAddress();
  if (id) showArticle(id); else closeArticle();
}

function closeArticle() {
  shownArticle = null;
  $("article-view").hidden = true;
  $("article-view").replaceChildren();
  $("results-view").hidden = false;
}

function backToResults() {
  history.replaceState(null, "", location.pathname + location.search);
  closeArticle();
  $("results-heading").scrollIntoView();
}

async function showArticle(id) {
  if (shownArticle === id) return;
  shownArticle = id;
  const view = $("article-view");
  const back = element("button", "← Back to the results", "back");
  back.type = "button";
  back.addEventListener("click", backToResults);
  view.replaceChildren(back, element("p", "Loading the article…", "meta"));
  view.hidden = false;
  $("results-view").hidden = true;
  let article = null;
  let message = "The search service did not answer; try again in a moment.";
  try {
    const response = await fetch("api/articles/" + encodeURIComponent(id), { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (response.ok) article = body; else message = body && body.error ? body.error : "No such article.";
  } catch {
    // the message above says so
  }
  if (shownArticle !== id) return;  // another article (or the results) was asked for meanwhile
  if (!article) {
    view.replaceChildren(back, element("h2", "Article not shown", "article-title"), element("p", message, "error"));
    view.lastChild.id = "article-error";
    return;
  }
  view.replaceChildren(back, ...drawArticle(article));
  view.querySelector(".article-title").focus();
}

function drawArticle(article) {
  const title = element("h2", article.title, "article-title");
  title.id = "article-title";
  title.tabIndex = -1;
  const meta = element("p", null, "meta");
  meta.append(article.source + " · published ", ...publishedNodes(article), " · fetched ",
    timeElement(article.fetched));
  if (article.language) meta.append(" · language " + article.language);
  if (article.authors && article.authors.length) meta.append(" · by " + article.authors.join(", "));
  const link = element("p", null, "article-link");
  const url = safeUrl(article.url);
  if (url) {
    const anchor = element("a", "Read it at " + new URL(url).host, null);
    anchor.href = url;
    anchor.rel = "noopener noreferrer";
    link.append(anchor);
  } else {
    link.append("No link: the feed gave this article without a web address; what newswire holds is shown here.");
  }
  const parts = [title, meta, link];
  if (article.summary) parts.push(element("p", article.summary, "article-summary"));
  if (article.content && article.content !== article.summary) {
    const text = element("details", null, "article-text");
    text.append(element("summary", "The text as fetched"), element("p", article.content));
    parts.push(text);
  }
  const facts = element("dl", null, "facts");
  fact(facts, "Topics", topicList(article.topics || []));
  fact(facts, "Event", storyFact(article.event_id || article.story_id, "event", article.id));
  fact(facts, "Storyline", storyFact(article.storyline_id, "storyline", article.id));
  if (article.duplicate_of) {
    const original = element("a", "the original article");
    original.href = articleAddress(article.duplicate_of);
    fact(facts, "Syndicated copy of", original);
  }
  if (article.revision > 1) fact(facts, "Revision", String(article.revision));
  const revised = article.revised;
  if (revised && Array.isArray(revised.history) && revised.history.length) {
    fact(facts, revised.history.length > 1 ? "Earlier headlines" : "Headline before", headlineHistory(revised.history));
  } else if (revised && revised.title_changed && revised.previous_title) {
    // A revision written before the poller kept a history: only the headline just before is known.
    fact(facts, "Headline before", headlineHistory([{ title: revised.previous_title, until: revised.revised_at }]));
  }
  if (revised && revised.lede_changed && revised.previous_lede) fact(facts, "Lede before", revised.previous_lede);
  parts.push(facts, element("h3", "Entities (" + (article.entities || []).length + ")"));
  const entities = element("ul", null, "chips entities");
  entities.setAttribute("aria-label", "All entities named in the article");
  for (const entity of [...(article.entities || [])].sort((a, b) => b.count - a.count)) {
    entities.append(chip([entity.name, element("span", " " + entity.label + " · " + entity.count + "×", "chip-kind")],
      "Only articles naming " + entity.name, () => addFilter("entity", entity.name)));
  }
  if (!entities.children.length) entities.append(element("li", "none found", "empty"));
  parts.push(entities);
  return parts;
}

// The headlines an article had before, oldest first, each with the time the poller saw it replaced (as text).
function headlineHistory(history) {
  const list = element("ol", null, history.length > 1 ? "headline-history" : "headline-history single");
  for (const change of history) {
    const item = element("li", "“" + change.title + "”, until ");
    item.append(timeElement(change.until));
    list.append(item);
  }
  return list;
}

function fact(list, term, value) {
  list.append(element("dt", term), element("dd"));
  list.lastChild.append(value);
}

// Topics by their names: known from the hits and facets drawn, else asked of /api/suggest by the label's words.
function topicList(topics) {
  if (!topics.length) return "none";
  const list = element("span", null, "topics");
  topics.forEach((topic, index) => {
    const name = element("span", topicNames.get(topic.label) || topic.label.replace(/_/g, " "));
    name.title = "topic " + topic.label + ", score " + Number(topic.score).toFixed(2);
    list.append(index ? ", " : "", name);
    if (topicNames.has(topic.label)) return;
    const params = new URLSearchParams({ prefix: topic.label.replace(/_/g, " ").slice(0, 100), field: "topic",
      size: "50" });
    fetch("api/suggest?" + params).then((response) => (response.ok ? response.json() : null)).then((found) => {
      const known = found && found.suggestions.find((suggestion) => suggestion.value === topic.label);
      if (known) { topicNames.set(topic.label, known.name); name.textContent = known.name; }
    }).catch(() => {});  // the label stays: a name is a nicety
  });
  return list;
}

// An event or storyline: its title, size and a button to open it (filled in when /api/stories/{id} answers).
function storyFact(id, level, articleId) {
  if (!id) return level === "event" ? "not grouped yet" : "none";
  const box = element("span");
  const open = element("button", "Open the " + level, "story-link");
  open.type = "button";
  open.addEventListener("click", () => openStory(id, level));
  box.append(open);
  if (level === "event" && id === articleId) box.prepend("this article opened it · ");
  fetch("api/stories/" + encodeURIComponent(id) + (level === "event" ? "?level=event" : ""))
    .then((response) => (response.ok ? response.json() : null)).then((found) => {
      if (!found || !found.story) return;
      const story = found.story;
      const size = level === "storyline" && story.events > 1 ? plural(story.events, "event") + ", " : "";
      box.prepend(element("strong", story.title), " (" + size + plural(story.size, "article") + ") ");
    }).catch(() => {});  // the button still opens it
  return box;
}

// --- health: how many articles the store holds, and how recent they are --------------------------------------------

async function drawHealth() {
  const line = $("health");
  try {
    const response = await fetch("api/health", { headers: { Accept: "application/json" } });
    const health = await response.json();
    if (!response.ok || health.status !== "ok") {
      line.textContent = "The search store is unavailable.";
      line.classList.add("error");
      return;
    }
    line.classList.remove("error");
    const parts = [Number(health.articles).toLocaleString() + " articles indexed"];
    if (health.last_indexed) {
      parts.push(" · last indexed ", timeElement(health.last_indexed));
    } else {
      // /api/health gives no indexing time: the newest publication is the nearest the page can tell.
      const newest = await fetch("api/search?size=1&sort=date", { headers: { Accept: "application/json" } });
      const found = newest.ok ? await newest.json() : null;
      const hit = found && found.hits && found.hits[0];
      if (hit) parts.push(" · newest published ", timeElement(hit.published));
    }
    line.replaceChildren(...parts);
  } catch {
    line.textContent = "The search service did not answer.";
    line.classList.add("error");
  }
}

// --- wiring --------------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (matchMedia(PHONE).matches) $("filters-box").open = false;  // on a phone the results come first
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
  window.addEventListener("popstate", () => {
    if (location.search !== shownSearch) { readAddress(); fillForm(); search(); }
    routeArticle();
  });
  window.addEventListener("hashchange", routeArticle);
  if (matchMedia(PHONE).matches) $("filters-box").open = false;  // folded until asked for
  readAddress();
  fillForm();
  search();
  routeArticle();
  drawHealth();
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
