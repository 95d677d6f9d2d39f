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

// The Cases page: times typed in the browser's local time travel as ISO 8601 with its UTC
// offset (hidden fields from/to), and an export's progress is polled until it ends, when the
// download link is put in place; no reload.
(function () {
  function pad(n) { return String(n).padStart(2, "0"); }

  function localText(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function withOffset(d) {
    const minutes = -d.getTimezoneOffset();
    const sign = minutes >= 0 ? "+" : "-";
    const a = Math.abs(minutes);
    return localText(d) + sign + pad(Math.floor(a / 60)) + ":" + pad(a % 60);
  }

  const search = document.getElementById("case-search");
  if (search) {
    search.querySelectorAll("input[data-iso-for]").forEach(function (local) {
      const hidden = search.querySelector('input[name="' + local.getAttribute("data-iso-for") + '"]');
      const given = hidden.value ? new Date(hidden.value) : null;
      if (given && !isNaN(given.getTime())) local.value = localText(given);
      const sync = function () {
        const d = new Date(local.value);
        hidden.value = local.value && !isNaN(d.getTime()) ? withOffset(d) : "";
      };
      local.addEventListener("change", sync);
      local.addEventListener("input", sync);
    });
    search.addEventListener("submit", function () {
      search.querySelectorAll("input[data-iso-for]").forEach(function (local) {
        local.dispatchEvent(new Event("change"));
      });
    });
  }

  const box = document.querySelector("[data-export-status]");
  if (!box) return;
  function show(status) {
    box.setAttribute("data-state", status.state);
    box.querySelector("#export-progress").value = status.percent;
    box.querySelector('[data-field="progress"]').textContent = status.percent + " %";
    box.querySelector('[data-field="export-state"]').textContent = status.state_label;
    box.querySelector('[data-field="verdict"]').textContent = status.verdict || "–";
    box.querySelector('[data-field="error"]').textContent = status.error || "";
    if (status.download && !document.getElementById("download")) {
      const link = document.getElementById("download-link").content.firstElementChild.cloneNode(true);
      link.setAttribute("href", status.download);
      box.querySelector('[data-field="download"]').appendChild(link);
    }
  }
  async function poll() {
    const state = box.getAttribute("data-state");
    if (state === "done" || state === "failed") return;
    try {
      const response = await fetch(box.getAttribute("data-export-status"),
        { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401 || response.status === 403) return;
      if (response.ok) show(await response.json());
    } catch (e) {
      // the desk is restarting or the network dropped: keep asking
    }
    window.setTimeout(poll, 1000);
  }
  poll();
})();
