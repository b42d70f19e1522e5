/* The matrix's behaviour: expand behaviour rows, open cells, filter, search, move with the arrow keys,
   and the porting guide of two picked columns (the rule of report/porting.py).
   Everything shown comes from the embedded JSON and goes in as text (textContent), never as HTML. */
(function () {
  "use strict";

  // The data elements: the matrix essentials (plain JSON, read now) and the cell details in
  // chunks of consecutive cases (JSON, or gzip+base64 JSON when the report is large), each
  // decoded the first time one of its cells is opened (all of them for a search or a comparison).
  function readJson(id) { return JSON.parse(document.getElementById(id).textContent); }
  var detailNodes = Array.prototype.slice.call(document.querySelectorAll("script.report-details"));
  var CHUNK = Number(document.getElementById("report-data").getAttribute("data-chunk")) || 100;
  var chunkPromises = [];
  var failed = false;
  function decode(node) {
    if (node.getAttribute("data-encoding") !== "gzip-base64") {
      return Promise.resolve().then(function () { return JSON.parse(node.textContent); });
    }
    return Promise.resolve().then(function () {
      var binary = atob(node.textContent.trim());
      var bytes = new Uint8Array(binary.length);
      for (var k = 0; k < binary.length; k++) bytes[k] = binary.charCodeAt(k);
      var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      return new Response(stream).text().then(JSON.parse);
    });
  }
  function loadChunk(k) {
    if (!chunkPromises[k]) {
      chunkPromises[k] = decode(detailNodes[k]);
      chunkPromises[k].catch(function (err) {
        if (failed) return;
        failed = true;
        var note = document.createElement("div");
        note.className = "banner banner-unreadable";
        note.setAttribute("role", "alert");
        note.textContent = "This browser could not unpack the cell details (" + err + "); " +
          "the matrix still shows every outcome. results.json holds the details.";
        document.querySelector(".controls").before(note);
      });
    }
    return chunkPromises[k];
  }
  function loadAll() {
    return Promise.all(detailNodes.map(function (node, k) { return loadChunk(k); }));
  }

  start(readJson("report-data"));

  function start(data) {
    // data.cells[case][column]: 0 (not run) or [status index, label index, flag];
    // flag 1 = the note's outcome held, 2 = another outcome held, 0 = neither.
    // data.cases[case]: [id, title, file, topic, behaviours, note, section, claim,
    //                    normative label, normative text, "holds up to X, changed in Y"],
    // where the fields at data.sharedCaseFields come as indexes into data.texts: resolved here.
    // data.behaviours: [id, topic, statement] in catalogue order; data.topics: topic names.
    data.cases.forEach(function (kase) {
      data.sharedCaseFields.forEach(function (p) { kase[p] = data.texts[kase[p]]; });
    });
    // A details chunk: {first, cells[case - first][column]: 0 or a list in data.detailFields
    // order, outcomes[case - first]: [[label, says, normative]], programs: [text]}.
    var F = {};
    data.detailFields.forEach(function (name, i) { F[name] = i; });
    var chunks = [];  // the decoded chunks, by index
    var allLoaded = false;
    function detailOf(i) {  // {cells: [column], outcomes, programs} of case i, once decoded
      var c = chunks[Math.floor(i / CHUNK)];
      if (!c) return null;
      return { cells: c.cells[i - c.first], outcomes: c.outcomes[i - c.first], programs: c.programs };
    }
    function withCase(i, then) {
      var k = Math.floor(i / CHUNK);
      if (chunks[k]) { then(detailOf(i)); return; }
      loadChunk(k).then(function (c) { chunks[k] = c; then(detailOf(i)); });
    }
    function withAll(then) {
      if (allLoaded) { then(); return; }
      loadAll().then(function (list) {
        list.forEach(function (c, k) { chunks[k] = c; });
        allLoaded = true;
        then();
      });
    }
    function statusOf(i, col) { var c = data.cells[i][col]; return c ? data.statuses[c[0]] : "not run"; }
    function labelOf(i, col) { var c = data.cells[i][col]; return c ? data.labels[c[1]] : "not run"; }
    function flagOf(i, col) { var c = data.cells[i][col]; return c ? c[2] : 0; }
    // A cell's outcomes as objects: the case's outcomes (d = detailOf(case)) with this
    // cell's held flags and, per outcome, the checks that failed.
    function outcomesOf(d, cell) {
      var held = cell ? cell[F.held] || [] : [];
      var checks = cell ? cell[F.checks] || [] : [];
      return (d.outcomes || []).map(function (o, n) {
        var failed = checks.filter(function (c) { return c && c.ok === false && c.outcome === o[0]; })
          .map(function (c) { return c.check; });
        return { label: o[0], says: o[1], normative: o[2], held: held[n], failed: failed };
      });
    }
    function saysOf(outcomes, label) {
      var found = (outcomes || []).filter(function (o) { return o && o.label === label; })[0];
      return found ? found.says || "" : "";
    }
    function evidenceText(pin) {
      if (!pin || typeof pin !== "object" || !pin.evidence) return "";
      var ev = pin.evidence, parts = [];
      if (ev.doc) parts.push("doc: " + ev.doc);
      if (ev.observed) parts.push("observed: " + ev.observed);
      if (ev.note_says) parts.push("note says: " + ev.note_says);
      var ranges = ["versions", "keras"].filter(function (k) { return pin[k]; })
        .map(function (k) { return k + " " + pin[k]; });
      if (ranges.length) parts.push("pinned for " + ranges.join(", "));
      return parts.join("; ");
    }
    var PROBLEMS = data.problems;
    var table = document.getElementById("matrix");
    var ncol = data.columns.length;

    // -- case rows: built here from the essentials, after their behaviour row ----------------
    // Every value goes through esc(); a cell shows the outcome label (else the status),
    // class s-<status>, plus nrm (the note's outcome held) or alt (another outcome held).
    var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
    function esc(text) { return String(text).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
    var cellHtml = {};
    function caseRowHtml(i) {
      var kase = data.cases[i];
      var html = '<tr class="case" data-i="' + i + '"><th scope="row"><span class="cid">' + esc(kase[0]) + '</span> <span class="title">' +
        esc(kase[1]) + "</span>" + (kase[10] ? ' <span class="chg">' + esc(kase[10]) + "</span>" : "") +
        "</th>";
      var row = data.cells[i];
      for (var col = 0; col < ncol; col++) {
        var c = row[col];
        var key = c ? c[0] + "," + c[1] + "," + c[2] : "";
        var td = cellHtml[key];
        if (td === undefined) {
          td = !c ? '<td class="s-missing"><span class="w">not run</span></td>' :
            '<td class="s-' + esc(data.statuses[c[0]]) + (c[2] === 1 ? " nrm" : c[2] === 2 ? " alt" : "") +
            '"><button class="c">' + esc(data.labels[c[1]]) + "</button></td>";
          cellHtml[key] = td;
        }
        html += td;
      }
      return html + "</tr>";
    }
    Array.prototype.forEach.call(table.querySelectorAll("tr.beh[data-c]"), function (tr) {
      var html = tr.getAttribute("data-c").split(" ").map(function (i) { return caseRowHtml(Number(i)); });
      tr.insertAdjacentHTML("afterend", html.join(""));
    });

    // -- structure: topics > behaviours > case rows ---------------------------------------
    var topics = Array.prototype.map.call(table.tBodies, function (tbody) {
      var groups = [];
      Array.prototype.forEach.call(tbody.rows, function (tr) {
        if (tr.classList.contains("beh")) {
          groups.push({ tr: tr, cases: [], text: tr.cells[0].textContent.toLowerCase() });
        } else if (tr.classList.contains("case") && groups.length) {
          groups[groups.length - 1].cases.push(tr);
        }
      });
      return { tbody: tbody, name: tbody.getAttribute("data-topic"), groups: groups };
    });

    function el(tag, className, text) {
      var node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined && text !== null) node.textContent = String(text);
      return node;
    }

    // -- expanding behaviour rows -----------------------------------------------------------
    function setExpanded(group, open) {
      var button = group.tr.querySelector("button.tog");
      if (!button || button.disabled) return;
      button.setAttribute("aria-expanded", open ? "true" : "false");
      group.cases.forEach(function (tr) {
        tr.classList.toggle("shown", open);
        var next = tr.nextElementSibling;
        if (!open && next && next.classList.contains("detail")) closeDetail(next, false);
      });
    }
    var groupByRow = new Map();
    topics.forEach(function (t) { t.groups.forEach(function (g) { groupByRow.set(g.tr, g); }); });

    // -- cell details -------------------------------------------------------------------------
    // JSON with two-space indents, but short lists and objects of plain values on one line.
    var NON_FINITE = { "NaN": 1, "Infinity": 1, "-Infinity": 1 };
    function scalar(v) {
      // JSON has no NaN or infinities; results carry them as strings, shown here bare.
      return typeof v === "string" && NON_FINITE[v] ? v : JSON.stringify(v);
    }
    function pretty(value, indent) {
      if (value === null || typeof value !== "object") return scalar(value);
      var inner = indent + "  ";
      var isList = Array.isArray(value);
      var keys = isList ? null : Object.keys(value);
      var items = isList ? value : keys.map(function (k) { return value[k]; });
      if (!items.length) return isList ? "[]" : "{}";
      var flat = items.every(function (v) { return v === null || typeof v !== "object"; });
      var parts = items.map(function (v, n) {
        var text = flat ? scalar(v) : pretty(v, inner);
        return isList ? text : JSON.stringify(keys[n]) + ": " + text;
      });
      var oneLine = (isList ? "[" : "{") + parts.join(", ") + (isList ? "]" : "}");
      if (flat && oneLine.length + indent.length <= 88) return oneLine;
      return (isList ? "[\n" : "{\n") + parts.map(function (p) { return inner + p; }).join(",\n") +
        "\n" + indent + (isList ? "]" : "}");
    }

    function addRow(dl, term, value) {
      if (value === null || value === undefined || value === "") return;
      dl.appendChild(el("dt", null, term));
      dl.appendChild(el("dd", null, value));
    }

    function copyText(button, pre) {
      var text = pre.textContent;
      function done(ok) {
        button.textContent = ok ? "Copied" : "Select and copy by hand";
        setTimeout(function () { button.textContent = "Copy"; }, 1500);
      }
      function fallback() {
        var range = document.createRange();
        range.selectNodeContents(pre);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
        done(ok);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
      } else {
        fallback();
      }
    }

    function renderDetail(i, col) {
      var kase = data.cases[i];
      var column = data.columns[col];
      var status = statusOf(i, col);
      var tr = el("tr", "detail");
      tr.setAttribute("data-col", String(col));
      var td = el("td");
      td.colSpan = ncol + 1;
      var panel = el("div", "panel");
      panel.setAttribute("role", "region");
      panel.setAttribute("aria-label", "Details of " + kase[0] + " on " + column.label);

      var head = el("h3");
      head.appendChild(el("span", "cid", kase[0]));
      head.appendChild(el("span", null, "on " + column.label));
      head.appendChild(el("span", "badge s-" + status, labelOf(i, col)));
      var close = el("button", "close", "Close");
      close.type = "button";
      close.addEventListener("click", function () { closeDetail(tr, true); });
      head.appendChild(close);
      panel.appendChild(head);
      var body = el("div", "body", "Loading the details…");
      panel.appendChild(body);
      td.appendChild(panel);
      tr.appendChild(td);
      withCase(i, function (d) { fillDetail(body, i, col, d.cells[col], d); });
      return tr;
    }

    function fillDetail(body, i, col, cell, d) {
      var kase = data.cases[i];
      var column = data.columns[col];
      body.textContent = "";
      var flag = flagOf(i, col);
      var outcomes = outcomesOf(d, cell);
      var held = outcomes.filter(function (o) { return o.held; });
      var label = labelOf(i, col);
      var dl = el("dl");
      addRow(dl, "Case", kase[1]);
      if (flag === 2 && kase[9]) {
        dl.appendChild(el("dt", null, "Not as the notes say"));
        dl.appendChild(el("dd", "differs", "the note says " + kase[9] + "; " + column.label + " does " +
          (saysOf(outcomes, label) || label)));
      }
      var heldText = held.length ? held.map(function (o) { return o.label + (o.says ? ": " + o.says : ""); }).join(" · ") :
        (outcomes.length && statusOf(i, col) === "fail" ? "none of the outcomes held" : "");
      addRow(dl, "Outcome", heldText);
      if (kase[8]) addRow(dl, "The notes' outcome", kase[8] + (kase[9] ? ": " + kase[9] : ""));
      if (cell[F.expected_outcome] && cell[F.expected_outcome] !== kase[8]) {
        addRow(dl, "Pinned outcome", cell[F.expected_outcome]);
      }
      addRow(dl, "Evidence", evidenceText(cell[F.pin]));
      addRow(dl, "Message", cell[F.message]);
      addRow(dl, "Across versions", kase[10]);
      if (kase[7]) {
        dl.appendChild(el("dt", null, "Note's claim"));
        var claim = el("dd");
        claim.appendChild(el("blockquote", "claim", kase[7]));
        var where = [kase[5], kase[6] ? "§" + kase[6] : ""].filter(Boolean).join(" ");
        if (where) claim.appendChild(el("span", "src", where));
        dl.appendChild(claim);
      }
      addRow(dl, "Spec", kase[2] ? kase[2] + "::" + kase[0] : "");
      addRow(dl, "Behaviours", (kase[4] || []).join(", "));
      var duration = cell[F.duration_s];
      addRow(dl, "Duration", typeof duration === "number" ? duration.toFixed(3) + " s" : "");
      body.appendChild(dl);

      if (outcomes.length > 1) {
        body.appendChild(el("h4", null, "Outcomes"));
        var olist = el("ul", "outcomes");
        outcomes.forEach(function (o) {
          if (!o || typeof o !== "object") return;
          var item = el("li", o.held === true ? "ok" : o.held === false ? "bad" : null);
          item.appendChild(el("span", "mark", o.held === true ? "✓ held" : o.held === false ? "✗ not held" : "•"));
          var text = o.label + (o.normative ? " (the notes)" : "") + (o.says ? ": " + o.says : "") +
            (o.failed.length ? " — failed: " + o.failed.join("; ") : "");
          item.appendChild(document.createTextNode(" " + text));
          olist.appendChild(item);
        });
        body.appendChild(olist);
      }
      var checks = cell[F.checks] || [];
      if (checks.length) {
        body.appendChild(el("h4", null, "Checks"));
        var list = el("ul", "checks");
        checks.forEach(function (check) {
          var ok = check && typeof check === "object" ? check.ok : null;
          var text = check && typeof check === "object" ? check.check : check;
          var tag = check && typeof check === "object" && check.outcome ? "[" + check.outcome + "] " : "";
          var item = el("li", ok === true ? "ok" : ok === false ? "bad" : null);
          item.appendChild(el("span", "mark", ok === true ? "✓ held" : ok === false ? "✗ failed" : "•"));
          item.appendChild(document.createTextNode(" " + tag + String(text)));
          list.appendChild(item);
        });
        body.appendChild(list);
      }
      body.appendChild(el("h4", null, "Observations"));
      body.appendChild(el("pre", "json", pretty(cell[F.observations], "")));
      appendProgram(body, d.programs[cell[F.program]] || "");
    }

    function appendProgram(parent, program, title) {
      var head = el("h4", null, title || "Program");
      parent.appendChild(head);
      if (program) {
        var pre = el("pre", "program", program);
        var copy = el("button", "copy", "Copy");
        copy.type = "button";
        copy.setAttribute("aria-label", "Copy the program");
        copy.addEventListener("click", function () { copyText(copy, pre); });
        head.appendChild(copy);
        parent.appendChild(pre);
      } else {
        parent.appendChild(el("p", "n", "No program was recorded."));
      }
    }

    function cellButton(detail) {
      var caseRow = detail.previousElementSibling;
      var cell = caseRow && caseRow.cells[Number(detail.getAttribute("data-col")) + 1];
      return cell ? cell.querySelector("button.c") : null;
    }

    function closeDetail(detail, refocus) {
      var button = cellButton(detail);
      if (button) button.setAttribute("aria-expanded", "false");
      detail.remove();
      if (refocus && button) button.focus();
    }

    function toggleCell(button) {
      var caseRow = button.closest("tr");
      var col = button.parentElement.cellIndex - 1;
      var next = caseRow.nextElementSibling;
      if (next && next.classList.contains("detail")) {
        var wasCol = Number(next.getAttribute("data-col"));
        closeDetail(next, false);
        if (wasCol === col) return;
      }
      caseRow.after(renderDetail(Number(caseRow.getAttribute("data-i")), col));
      button.setAttribute("aria-expanded", "true");
    }

    table.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !table.contains(button)) return;
      if (button.classList.contains("c")) toggleCell(button);
      else if (button.classList.contains("tog")) {
        var group = groupByRow.get(button.closest("tr"));
        if (group) setExpanded(group, button.getAttribute("aria-expanded") !== "true");
      }
    });

    // -- arrow keys move between the matrix's buttons -----------------------------------------
    function visible(tr) { return tr.getClientRects().length > 0; }
    function stepRow(tr, forward) {
      var next = forward ? tr.nextElementSibling : tr.previousElementSibling;
      if (next) return next;
      var body = forward ? tr.parentElement.nextElementSibling : tr.parentElement.previousElementSibling;
      while (body && body.tagName === "TBODY" && !body.rows.length) {
        body = forward ? body.nextElementSibling : body.previousElementSibling;
      }
      if (!body || body.tagName !== "TBODY") return null;
      return forward ? body.rows[0] : body.rows[body.rows.length - 1];
    }
    function usable(node) { return node ? node.querySelector("button:not(:disabled)") : null; }
    table.addEventListener("keydown", function (event) {
      var key = event.key;
      if (key === "Escape") {  // closes the open detail from its cell or from inside it
        var inPanel = event.target.closest("tr.detail");
        var caseRow = inPanel ? null : event.target.closest("tr.case");
        var detail = inPanel || (caseRow && caseRow.nextElementSibling);
        if (detail && detail.classList.contains("detail")) {
          event.preventDefault();
          closeDetail(detail, true);
        }
        return;
      }
      if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].indexOf(key) < 0) return;
      var button = event.target;
      if (!button.matches || !button.matches("button.c, button.tog")) return;
      var cell = button.closest("td, th");
      var tr = cell.parentElement;
      var index = cell.cellIndex;
      var target = null;
      if (key === "ArrowLeft" || key === "ArrowRight") {
        var step = key === "ArrowLeft" ? -1 : 1;
        for (var j = index + step; j >= 0 && j < tr.cells.length && !target; j += step) {
          target = usable(tr.cells[j]);
        }
      } else {
        var row = tr;
        while (!target && (row = stepRow(row, key === "ArrowDown"))) {
          if (!visible(row) || !(row.classList.contains("case") || row.classList.contains("beh"))) continue;
          target = usable(row.cells[index]) || usable(row);
        }
      }
      if (target) { event.preventDefault(); target.focus(); }
    });

    // -- filters --------------------------------------------------------------------------------
    var controls = {
      notes: document.getElementById("f-notes"),
      colA: document.getElementById("f-col-a"),
      colB: document.getElementById("f-col-b"),
      status: document.getElementById("f-status"),
      topic: document.getElementById("f-topic"),
      search: document.getElementById("f-search"),
    };
    var haystacks = [];
    function haystack(i) {
      if (haystacks[i] === undefined) {
        var kase = data.cases[i];
        var parts = [kase[0], kase[1], kase[2], (kase[4] || []).join(" "), kase[7] || "", kase[9] || ""];
        for (var col = 0; col < ncol; col++) parts.push(labelOf(i, col));
        if (allLoaded) {
          detailOf(i).cells.forEach(function (cell) {
            if (cell) parts.push(cell[F.message] || "");
          });
        }
        var text = parts.join("\n").toLowerCase();
        if (!allLoaded) return text;  // messages join in once the details are decoded
        haystacks[i] = text;
      }
      return haystacks[i];
    }
    function hasStatus(i, wanted) {
      for (var col = 0; col < ncol; col++) {
        var c = data.cells[i][col];
        if (!c) continue;
        var s = data.statuses[c[0]];
        if (wanted === "problem" ? PROBLEMS.indexOf(s) >= 0 : s === wanted) return true;
      }
      return false;
    }
    // A case differs from the notes where a column holds another outcome than the note's
    // (flag 2: pinned, or moved) or fails.
    function differsFromNotes(i) {
      for (var col = 0; col < ncol; col++) {
        if (flagOf(i, col) === 2 || statusOf(i, col) === "fail") return true;
      }
      return false;
    }
    function differsBetween(i, a, b) {
      return labelOf(i, a) !== labelOf(i, b) || statusOf(i, a) !== statusOf(i, b);
    }

    var autoOpened = new Set();  // behaviour rows a search opened (closed again when it ends)
    var lastHit = null;
    function apply() {
      var notes = controls.notes.checked;
      var a = controls.colA.value === "" ? -1 : Number(controls.colA.value);
      var b = controls.colB.value === "" ? -1 : Number(controls.colB.value);
      var pair = a >= 0 && b >= 0 && a !== b;
      var status = controls.status.value;
      var topic = controls.topic.value;
      var query = controls.search.value.trim().toLowerCase();
      var caseFilter = notes || pair || status || query;
      var shownBehaviours = 0, totalBehaviours = 0, shownCases = new Set();
      var hit = null;
      topics.forEach(function (t) {
        var topicOk = !topic || t.name === topic;
        var visibleHere = 0;
        t.groups.forEach(function (group) {
          totalBehaviours += 1;
          var textHit = query && group.text.indexOf(query) >= 0;
          var matched = 0, ownHits = 0;
          group.cases.forEach(function (tr) {
            var i = Number(tr.getAttribute("data-i"));
            var own = query && haystack(i).indexOf(query) >= 0;
            var ok = topicOk &&
              (!notes || differsFromNotes(i)) &&
              (!pair || differsBetween(i, a, b)) &&
              (!status || hasStatus(i, status)) &&
              (!query || textHit || own);
            tr.classList.toggle("f", !ok);
            tr.classList.toggle("hit", ok && !!query && data.cases[i][0].toLowerCase() === query);
            if (ok && query && data.cases[i][0].toLowerCase() === query) hit = tr;
            var detail = tr.nextElementSibling;
            if (detail && detail.classList.contains("detail")) detail.hidden = !ok;
            if (ok) { matched += 1; shownCases.add(i); }
            if (ok && own) ownHits += 1;
          });
          var show = topicOk && (!caseFilter || matched > 0 ||
            (textHit && !notes && !pair && !status && group.cases.length === 0));
          group.tr.classList.toggle("f", !show);
          if (show) visibleHere += 1;
          // A search that finds cases opens their behaviour row; an ended search closes it.
          if (show && ownHits > 0) {
            if (group.tr.querySelector("button.tog").getAttribute("aria-expanded") !== "true") {
              setExpanded(group, true);
              autoOpened.add(group);
            }
          } else if (autoOpened.has(group)) {
            setExpanded(group, false);
            autoOpened.delete(group);
          }
        });
        t.tbody.classList.toggle("f", visibleHere === 0);
        shownBehaviours += visibleHere;
      });
      var text = "Showing " + shownBehaviours + " of " + totalBehaviours + " behaviours";
      if (caseFilter) text += " · " + shownCases.size + " matching cases";
      document.getElementById("f-count").textContent = text;
      document.getElementById("nothing").hidden = !(shownBehaviours === 0 && totalBehaviours > 0);
      if (hit && hit !== lastHit) {  // a case id searched for: its row, in view
        var wrap = document.getElementById("matrix-wrap");
        wrap.scrollTop += hit.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 60;
      }
      lastHit = hit;
    }

    var timer = null;
    controls.search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        apply();  // ids, titles, claims and outcomes now; messages once the details are decoded
        if (!allLoaded && controls.search.value.trim()) withAll(function () { apply(); });
      }, 120);
    });
    [controls.notes, controls.colA, controls.colB, controls.status, controls.topic].forEach(function (control) {
      control.addEventListener("change", apply);
    });
    document.getElementById("expand-all").addEventListener("click", function () {
      topics.forEach(function (t) { t.groups.forEach(function (g) { setExpanded(g, true); }); });
    });
    document.getElementById("collapse-all").addEventListener("click", function () {
      topics.forEach(function (t) { t.groups.forEach(function (g) { setExpanded(g, false); }); });
      autoOpened.clear();
    });
    table.addEventListener("click", function (event) {  // a row opened or closed by hand stays so
      var button = event.target.closest("button.tog");
      if (button) autoOpened.delete(groupByRow.get(button.closest("tr")));
    });
    // Cell buttons announce that they expand; set lazily to keep the markup small.
    table.addEventListener("focusin", function (event) {
      var button = event.target;
      if (button.classList && button.classList.contains("c") && !button.hasAttribute("aria-expanded")) {
        button.setAttribute("aria-expanded", "false");
      }
    });

    // -- the porting guide (porting from one framework to another, or upgrading) -------------
    // The same rule as report/porting.py (the browser test holds the two to one checklist):
    // a case whose two cells both hold an outcome, and not the same one, is a behaviour
    // difference, filed under its first behaviour and the pair of outcomes; every other
    // differing case is status-only, grouped by the column that explains it, its status and
    // its reason. The checklist: silent differences first (no side raised), then a behaviour
    // whose cases all differ one way before a mixed one, more cases first, catalogue order.
    var cmpA = document.getElementById("cmp-a"), cmpB = document.getElementById("cmp-b");
    var cmpOut = document.getElementById("cmp-out"), cmpCount = document.getElementById("cmp-count");
    var behaviourInfo = {};
    data.behaviours.forEach(function (b, n) { behaviourInfo[b[0]] = { topic: b[1], statement: b[2], order: n }; });
    var NO_BEHAVIOUR = "(none)";

    function sideOf(i, col) {
      var cell = detailOf(i).cells[col];
      var status = statusOf(i, col), label = labelOf(i, col);
      if (!cell) {
        return { i: i, col: col, column: data.columns[col].label, label: label, status: status,
          says: "this column has no result for the case", program: "", flag: 0, evidence: "",
          raised: "", reason: "not run in this column", comparable: false };
      }
      var d = detailOf(i);
      return { i: i, col: col, column: data.columns[col].label, label: label, status: status,
        says: saysOf(outcomesOf(d, cell), label) || cell[F.message],
        program: d.programs[cell[F.program]] || "", flag: flagOf(i, col),
        evidence: evidenceText(cell[F.pin]), raised: cell[F.raised] || "",
        reason: cell[F.reason] || status, comparable: label !== status };
    }
    function firstRaised(sides, k) {
      for (var n = 0; n < sides.length; n++) if (sides[n][k].raised) return sides[n][k].raised;
      return "";
    }
    function porting(a, b) {
      var rows = {}, rowList = [], groups = {}, groupList = [], total = 0;
      for (var i = 0; i < data.cases.length; i++) {
        if (!differsBetween(i, a, b)) continue;
        total += 1;
        var sa = sideOf(i, a), sb = sideOf(i, b);
        if (sa.comparable && sb.comparable && sa.label !== sb.label) {
          var behaviours = data.cases[i][4] || [];
          var bid = behaviours.length ? String(behaviours[0]) : NO_BEHAVIOUR;
          var row = rows[bid];
          if (!row) {
            var info = behaviourInfo[bid] ||
              { topic: data.cases[i][3], statement: "", order: data.behaviours.length };
            row = rows[bid] = { id: bid, topic: info.topic, statement: info.statement, order: info.order, diffs: [] };
            rowList.push(row);
          }
          var diff = row.diffs.filter(function (x) { return x.a === sa.label && x.b === sb.label; })[0];
          if (!diff) { diff = { a: sa.label, b: sb.label, sides: [] }; row.diffs.push(diff); }
          diff.sides.push([sa, sb]);
          continue;
        }
        var explain;
        if (sa.comparable && sb.comparable) explain = sb.status === "pass" ? sa : sb;
        else explain = !sb.comparable ? sb : sa;
        var key = JSON.stringify([explain === sa, explain.status, explain.reason]);
        if (!groups[key]) {
          groups[key] = { column: explain.column, status: explain.status, reason: explain.reason, sides: [] };
          groupList.push(groups[key]);
        }
        groups[key].sides.push([sa, sb]);
      }
      rowList.forEach(function (row) {
        row.diffs.sort(function (x, y) { return y.sides.length - x.sides.length; });
        row.diffs.forEach(function (x) {
          x.aRaised = firstRaised(x.sides, 0);
          x.bRaised = firstRaised(x.sides, 1);
          x.silent = !(x.aRaised || x.bRaised);
        });
        row.cases = row.diffs.reduce(function (n, x) { return n + x.sides.length; }, 0);
        var main = row.diffs[0];
        row.rank = [main.silent ? 0 : 1, row.diffs.length > 1 ? 1 : 0, -main.sides.length, row.order];
      });
      var checklist = rowList.slice().sort(function (x, y) {
        for (var k = 0; k < 4; k++) if (x.rank[k] !== y.rank[k]) return x.rank[k] - y.rank[k];
        return 0;
      });
      var byOrder = rowList.slice().sort(function (x, y) { return x.order - y.order; });
      var topicNames = [], topicRows = {};
      byOrder.forEach(function (row) {
        var name = row.topic || "(no topic)";
        if (!topicRows[name]) { topicRows[name] = []; topicNames.push(name); }
        topicRows[name].push(row);
      });
      var topicIndex = function (name) {
        var n = data.topics.indexOf(name);
        return n < 0 ? data.topics.length : n;
      };
      topicNames.sort(function (x, y) { return topicIndex(x) - topicIndex(y); });
      var bLabel = data.columns[b].label;
      groupList.sort(function (x, y) {
        return ((x.column !== bLabel) - (y.column !== bLabel)) || (y.sides.length - x.sides.length);
      });
      return { total: total, checklist: checklist,
        topics: topicNames.map(function (name) { return { name: name, rows: topicRows[name] }; }),
        statusOnly: groupList };
    }

    function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }
    function anchorOf(bid) { return "g-" + bid.toLowerCase().replace(/[^a-z0-9]+/g, "-"); }
    function raisesText(diff, a, b) {
      var parts = [];
      if (diff.aRaised) parts.push(data.columns[a].label + " raises " + diff.aRaised);
      if (diff.bRaised) parts.push(data.columns[b].label + " raises " + diff.bRaised);
      return parts.join("; ");
    }
    function cmpSide(s) {
      var box = el("div", "side");
      var head = el("p", "side-head");
      head.appendChild(el("span", "badge s-" + (s.status === "not run" ? "missing" : s.status) +
        (s.flag === 1 ? " nrm" : s.flag === 2 ? " alt" : ""), s.label));
      head.appendChild(el("span", "n", " " + s.column + " · " + s.status +
        (s.flag === 1 ? " · as the notes say" : s.flag === 2 ? " · not as the notes say" : "")));
      box.appendChild(head);
      if (s.says) box.appendChild(el("p", "says", s.says));
      if (s.evidence) box.appendChild(el("p", "evidence n", s.evidence));
      if (s.program) box.appendChild(el("pre", "program", s.program));
      return box;
    }
    function pairOf(sides) {
      var pair = el("div", "pair");
      pair.appendChild(cmpSide(sides[0]));
      pair.appendChild(cmpSide(sides[1]));
      return pair;
    }
    function caseItem(sides, open) {
      var kase = data.cases[sides[0].i];
      var item = el("li", "cmp-case");
      item.setAttribute("data-case", kase[0]);
      var box = el("details");
      var summary = el("summary");
      summary.appendChild(el("span", "cid", kase[0]));
      summary.appendChild(el("span", "title", " " + kase[1]));
      box.appendChild(summary);
      box.addEventListener("toggle", function () {  // the pair, built when first opened
        if (box.open && !box.querySelector(".pair")) box.appendChild(pairOf(sides));
      });
      if (open) { box.appendChild(pairOf(sides)); box.open = true; }
      item.appendChild(box);
      return item;
    }
    function renderGuide(guide, a, b) {
      var A = data.columns[a].label, B = data.columns[b].label;
      var root = el("div", "guide");
      var behaviourCases = guide.checklist.reduce(function (n, r) { return n + r.cases; }, 0);
      var statusCases = guide.total - behaviourCases;
      var upgrade = data.columns[a].framework === data.columns[b].framework;
      root.appendChild(el("h3", "guide-title", (upgrade ? "Upgrading from " : "Porting from ") + A + " to " + B));
      root.appendChild(el("p", "guide-sum", guide.total + " of " + data.cases.length +
        " cases differ: " + behaviourCases + " in " + plural(guide.checklist.length, "behaviour") +
        " that differ, " + statusCases + " that cannot be compared (listed last)."));
      if (guide.checklist.length) {
        root.appendChild(el("h3", null, "Checklist: what " + B + " does that " + A + " did not"));
        root.appendChild(el("p", "n", "One line per behaviour, each linking to its cases below."));
        var list = null, silent = null;
        guide.checklist.forEach(function (row, n) {
          var main = row.diffs[0], first = main.sides[0];
          if (list === null || main.silent !== silent) {  // two parts: silent, then raises
            silent = main.silent;
            var count = guide.checklist.filter(function (r) { return r.diffs[0].silent === silent; }).length;
            root.appendChild(el("h4", "checklist-part", silent ?
              "No error will tell you (" + count + "): the program runs on both and its results differ" :
              "One side raises (" + count + ")"));
            list = el("ol", "checklist");
            list.start = n + 1;
            root.appendChild(list);
          }
          var item = el("li", main.silent ? "silent" : "raises");
          item.setAttribute("data-b", row.id);
          var link = el("a", "bid", row.id);
          link.href = "#" + anchorOf(row.id);
          item.appendChild(link);
          item.appendChild(el("span", "stmt", row.statement));
          var now = el("span", "now");
          now.appendChild(el("b", null, B + ": "));
          now.appendChild(document.createTextNode(first[1].says || main.b));
          item.appendChild(now);
          var was = el("span", "was");
          was.appendChild(el("b", null, A + ": "));
          was.appendChild(document.createTextNode(first[0].says || main.a));
          item.appendChild(was);
          var others = row.diffs.length - 1;
          item.appendChild(el("span", "how", (main.silent ? "" : raisesText(main, a, b) + " · ") +
            plural(row.cases, "case") + (others ? ", " + plural(others, "other difference") : "")));
          list.appendChild(item);
        });
        root.appendChild(el("h3", null, "Behaviour differences, by topic"));
        guide.topics.forEach(function (topic) {
          var section = el("section", "g-topic");
          section.appendChild(el("h4", null, topic.name));
          topic.rows.forEach(function (row) {
            var box = el("div", "g-beh");
            box.id = anchorOf(row.id);
            box.setAttribute("data-b", row.id);
            var title = el("h5");
            title.appendChild(el("span", "bid", row.id));
            title.appendChild(document.createTextNode(" " + row.statement));
            box.appendChild(title);
            row.diffs.forEach(function (diff) {
              var part = el("div", "g-diff");
              part.appendChild(el("p", "g-head", A + ": " + diff.a + " → " + B + ": " + diff.b + " · " +
                plural(diff.sides.length, "case") + " · " + (diff.silent ? "runs on both" : raisesText(diff, a, b))));
              part.appendChild(pairOf(diff.sides[0]));
              var cases = el("ul", "g-cases");
              diff.sides.forEach(function (sides, n) { cases.appendChild(caseItem(sides, false)); });
              part.appendChild(cases);
              box.appendChild(part);
            });
            section.appendChild(box);
          });
          root.appendChild(section);
        });
      }
      if (guide.statusOnly.length) {
        root.appendChild(el("h3", null, "What cannot be compared (" + plural(statusCases, "case") + ")"));
        guide.statusOnly.forEach(function (group) {
          var box = el("details", "g-status");
          var summary = el("summary");
          summary.appendChild(el("b", null, group.column + ": " + group.status));
          summary.appendChild(el("span", "n", " (" + plural(group.sides.length, "case") + ") "));
          summary.appendChild(el("span", "reason", group.reason));
          box.appendChild(summary);
          var cases = el("ul", "g-cases");
          group.sides.forEach(function (sides) { cases.appendChild(caseItem(sides, false)); });
          box.appendChild(cases);
          root.appendChild(box);
        });
      }
      return root;
    }
    function compare() {
      cmpOut.textContent = "";
      cmpCount.textContent = "";
      if (cmpA.value === "" || cmpB.value === "") return;
      var a = Number(cmpA.value), b = Number(cmpB.value);
      cmpCount.textContent = "Comparing…";
      withAll(function () {
        if (String(a) !== cmpA.value || String(b) !== cmpB.value) return;  // changed meanwhile
        cmpOut.textContent = "";
        var guide = porting(a, b);
        cmpCount.textContent = guide.total + " of " + data.cases.length + " cases differ between " +
          data.columns[a].label + " and " + data.columns[b].label;
        if (guide.total) cmpOut.appendChild(renderGuide(guide, a, b));
        else cmpOut.appendChild(el("p", "nothing", "Nothing differs: every case has the same outcome and status."));
      });
    }
    cmpA.addEventListener("change", compare);
    cmpB.addEventListener("change", compare);

    apply();
    document.body.setAttribute("data-ready", "1");
  }
})();
