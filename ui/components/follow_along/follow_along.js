// The follow-along player of the task page (ui/follow_along.py), a Streamlit component without a build step.
//
// Streamlit's component protocol, by hand: say "streamlit:componentReady", receive "streamlit:render"
// events (args: task, src, data, start, seek, autoplay; theme), report the height with
// "streamlit:setFrameHeight". Names and segment texts are typed by people: they only ever reach the
// page through textContent.
(function () {
  "use strict";

  const SKIP_S = 5;
  const SPEEDS = ["0.5", "0.75", "1", "1.25", "1.5", "1.75", "2"];
  const USER_SCROLL_PAUSE_MS = 4000; // after a person scrolls the transcript, it stops following for a while
  // Where a key belongs to what has the focus: typing, choosing, pressing a button.
  const OWN_KEYS = "input, textarea, select, button, a[href], [contenteditable=''], [contenteditable='true'], " +
    "[role=textbox], [role=slider], [role=spinbutton], [role=combobox], [role=listbox], [role=option], " +
    "[role=tab], [role=radio], [role=checkbox], [role=switch], [role=menuitem], [role=button]";

  const audio = document.getElementById("audio");
  const speed = document.getElementById("speed");
  const timeline = document.getElementById("timeline");
  const lanes = document.getElementById("lanes");
  const playhead = document.getElementById("playhead");
  const list = document.getElementById("rows");

  let task = null;       // the task whose recording is loaded
  let latestSrc = null;  // the newest link to it (a signed link is renewed each run)
  let seek = null;       // the last seek number acted on
  let pendingStart = null;
  let dataKey = "";
  let segments = [];     // sorted by start
  let rows = [];         // the <li> of each entry of segments
  let duration = 0;
  let active = -1;
  let userScrolledAt = 0;
  let frame = 0;

  function send(type, extra) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, extra || {}), "*");
  }

  function reportHeight() {
    send("streamlit:setFrameHeight", { height: Math.ceil(document.body.getBoundingClientRect().height) + 2 });
  }

  function absolute(src) {
    // Streamlit's media endpoint is given as "/media/<id>.<ext>", relative to the app's base path;
    // this page is served from <base>/component/<name>/index.html.
    if (!src || /^https?:\/\//i.test(src)) return src || "";
    return new URL("../.." + (src.charAt(0) === "/" ? src : "/" + src), window.location.href).href;
  }

  function clamp(t) {
    const end = isFinite(audio.duration) ? audio.duration : Math.max(duration, t);
    return Math.min(Math.max(0, t), end);
  }

  function seekTo(seconds) {
    if (audio.readyState === 0) { pendingStart = seconds; return; }
    audio.currentTime = clamp(seconds);
    update();
  }

  function play() {
    const started = audio.play();
    if (started && started.catch) started.catch(function () { /* refused without a gesture: the person presses play */ });
  }

  function toggle() { if (audio.paused) play(); else audio.pause(); }

  // --- what is shown -------------------------------------------------------------------------------

  function applyTheme(theme) {
    if (!theme) return;
    const root = document.documentElement.style;
    const pairs = [["--text", theme.textColor], ["--background", theme.backgroundColor],
      ["--panel", theme.secondaryBackgroundColor], ["--primary", theme.primaryColor]];
    pairs.forEach(function (pair) { if (typeof pair[1] === "string") root.setProperty(pair[0], pair[1]); });
    if (typeof theme.font === "string") root.setProperty("font-family", theme.font);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function colour(value) {
    return /^#[0-9a-f]{3,8}$/i.test(value || "") ? value : "#888888";
  }

  function build(data) {
    const speakers = Array.isArray(data.speakers) ? data.speakers : [];
    segments = Array.isArray(data.segments) ? data.segments : [];
    duration = Number(data.duration) || 0;
    list.replaceChildren();
    lanes.replaceChildren();
    rows = segments.map(function (seg, n) {
      const who = speakers[seg.speaker];
      const row = element("li", "row");
      row.dataset.n = String(n);
      row.tabIndex = 0; // reachable with Tab; Enter jumps there
      row.dataset.segment = String(seg.i);
      row.append(element("span", "clock", seg.clock), element("span", "who", who ? who.name : ""),
        element("span", "words", seg.text));
      if (who) row.lastChild.previousSibling.style.color = colour(who.color);
      list.append(row);
      return row;
    });
    speakers.forEach(function (who, index) {
      const lane = element("div", "lane");
      const track = element("div", "track");
      lane.append(element("span", "lane-name", who.name), track);
      segments.forEach(function (seg) {
        if (seg.speaker !== index || !duration) return;
        const bar = element("div", "bar");
        bar.style.left = (100 * seg.start / duration) + "%";
        bar.style.width = (100 * (seg.end - seg.start) / duration) + "%";
        bar.style.background = colour(who.color);
        track.append(bar);
      });
      lanes.append(lane);
    });
    timeline.hidden = speakers.length === 0;
    list.hidden = segments.length === 0;
    active = -1;
    update();
  }

  function spoken(t) {
    // The last segment starting at or before t, if t is inside it (or inside one just before it, on overlap).
    let lo = 0, hi = segments.length - 1, last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segments[mid].start <= t) { last = mid; lo = mid + 1; } else hi = mid - 1;
    }
    for (let n = last; n >= 0 && n > last - 4; n--) if (t < segments[n].end) return n;
    return -1;
  }

  function keepInView(row) {
    if (Date.now() - userScrolledAt < USER_SCROLL_PAUSE_MS) return;
    const top = row.offsetTop, bottom = top + row.offsetHeight;
    if (top >= list.scrollTop && bottom <= list.scrollTop + list.clientHeight) return;
    // Scroll the pane only: scrollIntoView would also scroll the page around the player.
    list.scrollTo({ top: Math.max(0, top - list.clientHeight / 3), behavior: "smooth" });
  }

  function update() {
    const t = audio.currentTime || 0;
    const span = isFinite(audio.duration) && audio.duration > 0 ? audio.duration : duration;
    const share = span > 0 ? Math.min(1, t / span) : 0;
    playhead.style.left = "calc(var(--label) + (100% - var(--label)) * " + share.toFixed(5) + ")";
    const now = spoken(t);
    if (now === active) return;
    if (active >= 0) { rows[active].classList.remove("active"); rows[active].removeAttribute("aria-current"); }
    active = now;
    if (active >= 0) {
      rows[active].classList.add("active");
      rows[active].setAttribute("aria-current", "true");
      keepInView(rows[active]);
    }
  }

  function tick() {
    update();
    frame = audio.paused ? 0 : window.requestAnimationFrame(tick);
  }

  // --- Streamlit's render event --------------------------------------------------------------------

  function render(args, theme) {
    applyTheme(theme);
    const key = JSON.stringify(args.data || {});
    if (key !== dataKey) { dataKey = key; build(args.data || {}); }
    latestSrc = absolute(args.src);
    if (args.task !== task) {
      task = args.task;
      audio.src = latestSrc;
      audio.playbackRate = Number(speed.value);
    }
    if (args.seek !== seek) {
      seek = args.seek;
      if (typeof args.start === "number") seekTo(args.start);
      if (args.autoplay) play();
    }
    reportHeight();
  }

  window.addEventListener("message", function (event) {
    const message = event.data;
    if (event.source !== window.parent || !message || message.type !== "streamlit:render") return;
    render(message.args || {}, message.theme);
  });

  // --- a person's actions --------------------------------------------------------------------------

  audio.addEventListener("loadedmetadata", function () {
    audio.playbackRate = Number(speed.value);
    if (pendingStart !== null) { const t = pendingStart; pendingStart = null; seekTo(t); }
  });
  audio.addEventListener("error", function () {
    // A signed link expires (hours); the page signs a new one each run: switch to it where it stopped.
    if (latestSrc && audio.src !== latestSrc) { pendingStart = audio.currentTime; audio.src = latestSrc; }
  });
  audio.addEventListener("play", function () { if (!frame) frame = window.requestAnimationFrame(tick); });
  ["timeupdate", "seeked", "pause", "durationchange"].forEach(function (name) { audio.addEventListener(name, update); });
  audio.addEventListener("ratechange", function () {
    const rate = String(audio.playbackRate);
    if (SPEEDS.indexOf(rate) >= 0) speed.value = rate;
  });

  try { speed.value = window.sessionStorage.getItem("fastaudio.speed") || "1"; } catch (e) { /* storage refused */ }
  if (SPEEDS.indexOf(speed.value) < 0) speed.value = "1";
  speed.addEventListener("change", function () {
    audio.playbackRate = Number(speed.value);
    try { window.sessionStorage.setItem("fastaudio.speed", speed.value); } catch (e) { /* storage refused */ }
  });

  function playLine(row) {
    seekTo(segments[Number(row.dataset.n)].start);
    play();
  }
  list.addEventListener("click", function (event) {
    const row = event.target.closest(".row");
    if (row) playLine(row);
  });
  list.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.classList.contains("row")) { playLine(event.target); event.preventDefault(); }
  });
  ["wheel", "touchmove"].forEach(function (name) {
    list.addEventListener(name, function () { userScrolledAt = Date.now(); }, { passive: true });
  });

  timeline.addEventListener("click", function (event) {
    const track = lanes.querySelector(".track");
    if (!track) return;
    const box = track.getBoundingClientRect();
    const span = isFinite(audio.duration) && audio.duration > 0 ? audio.duration : duration;
    if (box.width > 0) seekTo(span * Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)));
  });

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target && target.closest && target.closest(OWN_KEYS)) return;
    if (event.key === " ") { if (!event.repeat) toggle(); }
    else if (event.key === "ArrowLeft") seekTo(audio.currentTime - SKIP_S);
    else if (event.key === "ArrowRight") seekTo(audio.currentTime + SKIP_S);
    else return;
    event.preventDefault();
  }
  document.addEventListener("keydown", onKey);

  // The same keys on the page around the player (Streamlit's document; the component shares its origin).
  // One listener per page: a player drawn again replaces the one before.
  try {
    const host = window.parent;
    if (host !== window && host.document) {
      if (typeof host.__fastaudioFollowAlongOff === "function") host.__fastaudioFollowAlongOff();
      const off = function () {
        host.document.removeEventListener("keydown", onKey);
        if (host.__fastaudioFollowAlongOff === off) host.__fastaudioFollowAlongOff = undefined;
      };
      host.document.addEventListener("keydown", onKey);
      host.__fastaudioFollowAlongOff = off;
      window.addEventListener("pagehide", off);
    }
  } catch (e) { /* another origin: the keys work inside the player only */ }

  if (window.ResizeObserver) new window.ResizeObserver(reportHeight).observe(document.body);
  send("streamlit:componentReady", { apiVersion: 1 });
})();
