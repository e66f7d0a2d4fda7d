// Live mode of the search page: with "Live" ticked, an EventSource on /api/live (the same text and filters as the
// search) puts each newly indexed matching article at the top of the list, marked new, with an "N new" count, and
// refreshes the facets, the coverage chart and the health line a moment later. Loaded after app.js, whose state,
// apiParams, drawHit, drawFacet, drawHistogram and drawHealth it uses; app.js sends "newswire:searched" after each
// search it draws, which (re)opens the stream for the search now shown. Hits come in as JSON and are drawn by
// drawHit, as text, like every other hit.
"use strict";

const LIVE_REFRESH_MS = 2000;
let liveSource = null;
let liveCount = 0;
let liveRefresh = null;

function liveParams() {
  const params = apiParams();
  for (const name of ["size", "offset", "facets", "histogram", "sort"]) params.delete(name);
  return params;
}

function liveNote(text) {
  const marker = $("live-marker");
  marker.textContent = text;
  marker.hidden = text === "";
}

function stopLive() {
  if (liveSource) liveSource.close();
  liveSource = null;
  liveCount = 0;
  liveNote("");
}

function startLive() {
  stopLive();
  if (!$("live").checked || state.view !== "articles" || state.story) return;
  liveSource = new EventSource("api/live?" + liveParams());
  // Open (again, after the server renewed the stream): say it follows, unless arrivals are counted already.
  liveSource.addEventListener("open", () => { if (liveCount === 0) liveNote("Live: waiting for new articles"); });
  liveSource.addEventListener("article", (event) => {
    let hit;
    try { hit = JSON.parse(event.data); } catch (error) { return; }
    const item = drawHit(hit);
    item.classList.add("new");
    $("hits").prepend(item);
    liveCount += 1;
    liveNote(liveCount + " new");
    clearTimeout(liveRefresh);
    liveRefresh = setTimeout(refreshSide, LIVE_REFRESH_MS);
  });
  liveSource.addEventListener("unavailable", () => liveNote("The search store is unavailable; waiting for it…"));
}

async function refreshSide() {
  const params = apiParams();
  params.set("size", "0");
  params.set("offset", "0");
  try {
    const response = await fetch("api/search?" + params, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const result = await response.json();
    const facets = result.facets || {};
    for (const name of Object.keys(FILTERS)) drawFacet(name, facets[FILTERS[name]] || []);
    drawHistogram(result.histogram || []);
    drawHealth();
  } catch (error) {
    // The next arrival tries again; the list itself is already current.
  }
}

document.addEventListener("newswire:searched", startLive);
document.addEventListener("DOMContentLoaded", () => { $("live").addEventListener("change", startLive); });
