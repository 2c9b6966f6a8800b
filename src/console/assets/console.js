// NODE.DC agents console. Everything works without this script; it adds copy
// buttons, keeps relative times current, refreshes the live parts of dashboards,
// asks before a form marked data-confirm is sent, and applies scope presets.
"use strict";

function relative(date) {
  const secs = Math.round((Date.now() - date.getTime()) / 1000);
  const n = Math.abs(secs);
  let text;
  if (n < 45) return "just now";
  if (n < 5400) text = Math.round(n / 60) + " min";
  else if (n < 129600) text = Math.round(n / 3600) + " h";
  else text = Math.round(n / 86400) + " d";
  return secs < 0 ? "in " + text : text + " ago";
}

function updateTimes(root) {
  root.querySelectorAll("time[data-rel]").forEach(function (t) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.textContent = relative(d);
  });
}

function setupCopy(root) {
  root.querySelectorAll("button[data-copy]").forEach(function (b) {
    if (b.dataset.ready) return;
    b.dataset.ready = "1";
    b.hidden = false;
    b.addEventListener("click", function () {
      const target = document.getElementById(b.dataset.copy);
      const status = document.getElementById(b.dataset.copy + "-status");
      if (!target) return;
      const text = target.textContent;
      const done = function (ok) {
        if (status) status.textContent = ok ? "Copied." : "Copy failed: select the text and copy it.";
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
      } else {
        done(false);
      }
    });
  });
}

function setupConfirm() {
  document.querySelectorAll("form[data-confirm]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.dataset.confirm)) e.preventDefault();
    });
  });
}

// Presets tick the scope boxes; ticking a box by hand makes the choice "custom".
function setupPresets() {
  document.querySelectorAll("[data-presets]").forEach(function (box) {
    const presets = JSON.parse(box.dataset.presets);
    const radios = box.querySelectorAll("input[type=radio][data-preset]");
    const scopes = box.querySelectorAll("input[type=checkbox][data-scope]");
    radios.forEach(function (r) {
      r.addEventListener("change", function () {
        const chosen = presets[r.dataset.preset];
        if (!chosen) return;
        scopes.forEach(function (s) { s.checked = chosen.indexOf(s.dataset.scope) >= 0; });
      });
    });
    scopes.forEach(function (s) {
      s.addEventListener("change", function () {
        radios.forEach(function (r) { r.checked = r.dataset.preset === "custom"; });
      });
    });
  });
}

// Parts marked data-refresh are fetched again every few seconds (not while the tab
// is hidden or while focus is inside one of them).
function setupRefresh() {
  const parts = document.querySelectorAll("[data-refresh][id]");
  if (!parts.length) return;
  const every = 5000;
  let stopped = false;
  const tick = function () {
    if (stopped) return;
    const active = document.activeElement;
    const busy = active && active.closest && active.closest("[data-refresh]");
    if (document.hidden || busy) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Console-Refresh": "1" } })
      .then(function (res) {
        if (!res.ok) { stopped = true; return null; }
        return res.text();
      })
      .then(function (html) {
        if (!html) return;
        const fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-refresh][id]").forEach(function (el) {
          const next = fresh.getElementById(el.id);
          if (next && next.innerHTML !== el.innerHTML) {
            el.innerHTML = next.innerHTML;
            updateTimes(el);
            setupCopy(el);
          }
        });
      })
      .catch(function () { /* try again next time */ });
  };
  window.setInterval(tick, every);
}

document.addEventListener("DOMContentLoaded", function () {
  updateTimes(document);
  setupCopy(document);
  setupConfirm();
  setupPresets();
  setupRefresh();
  window.setInterval(function () { updateTimes(document); }, 15000);
});
