// evgw desk: live updates without reload. The server's event stream says "fleet changed";
// each element with data-fragment is fetched again and swapped in. No inline script, no
// third-party code; what is typed into an acknowledgement comment survives a swap. A busy
// fleet changes every second: each fragment has at most one fetch in flight (changes during
// it cause one more fetch after it), and a hidden tab fetches only when shown again.
"use strict";
(function () {
  const body = document.body;

  function applySearch() {
    const input = document.getElementById("fleet-search");
    const table = document.getElementById("fleet");
    if (!input || !table) return;
    const needle = input.value.trim().toLowerCase();
    table.querySelectorAll("tbody tr").forEach(function (row) {
      const text = row.getAttribute("data-search") || "";
      row.hidden = needle !== "" && text.indexOf(needle) < 0;
    });
  }

  function keepTyping(holder) {
    const kept = { values: {}, focused: null };
    holder.querySelectorAll("tr[data-alarm-id] textarea").forEach(function (area) {
      const id = area.closest("tr").getAttribute("data-alarm-id");
      kept.values[id] = area.value;
      if (document.activeElement === area) kept.focused = id;
    });
    return kept;
  }

  function restoreTyping(holder, kept) {
    holder.querySelectorAll("tr[data-alarm-id] textarea").forEach(function (area) {
      const id = area.closest("tr").getAttribute("data-alarm-id");
      if (id in kept.values) area.value = kept.values[id];
      if (id === kept.focused) area.focus();
    });
  }

  async function refresh(holder) {
    const response = await fetch(holder.getAttribute("data-fragment") + window.location.search,
      { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) { window.location.assign("/login"); return; }
    if (!response.ok) return;
    const html = await response.text();
    const kept = keepTyping(holder);
    holder.innerHTML = html;
    restoreTyping(holder, kept);
    applySearch();
  }

  const busy = new WeakMap(); // holder -> "fetching" | "again"
  let missed = false;

  function refreshOne(holder) {
    if (busy.has(holder)) { busy.set(holder, "again"); return; }
    busy.set(holder, "fetching");
    refresh(holder)
      .catch(function () { body.setAttribute("data-live", "reconnecting"); })
      .finally(function () {
        const again = busy.get(holder) === "again";
        busy.delete(holder);
        if (again) refreshOne(holder);
      });
  }

  function refreshAll() {
    if (document.hidden) { missed = true; return; }
    document.querySelectorAll("[data-fragment]").forEach(refreshOne);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && missed) { missed = false; refreshAll(); }
  });

  const search = document.getElementById("fleet-search");
  if (search) search.addEventListener("input", applySearch);
  applySearch();

  const url = body.getAttribute("data-stream");
  if (url && window.EventSource) {
    const source = new EventSource(url);
    source.addEventListener("open", function () { body.setAttribute("data-live", "connected"); });
    source.addEventListener("error", function () { body.setAttribute("data-live", "reconnecting"); });
    source.addEventListener("fleet", refreshAll);
  }
})();
