/* Intake page helpers (no library, nothing remote). The page works without this file:
 * it only adds instant procedure filtering while typing and keeps the checklist tidy. */
(function () {
  "use strict";

  /* Same folding as common.validators.fold_diacritics: "Chứng thực" -> "chung thuc". */
  function fold(text) {
    return text
      .replace(/đ/g, "d")
      .replace(/Đ/g, "D")
      .normalize("NFKD")
      .toLowerCase()
      .replace(/[^\x20-\x7e]/g, "")
      .split(/\s+/)
      .filter(Boolean)
      .join(" ");
  }

  function setupProcedureFilter() {
    var input = document.getElementById("proc-q");
    var list = document.getElementById("proc-results");
    var data = document.getElementById("procedure-index");
    var form = document.getElementById("proc-search");
    if (!input || !list || !data || !form) return;
    var index = JSON.parse(data.textContent || "[]");
    var base = form.getAttribute("action");

    function render() {
      var words = fold(input.value).split(" ").filter(Boolean);
      list.textContent = "";
      if (!words.length) return;
      var shown = 0;
      for (var i = 0; i < index.length && shown < 30; i++) {
        var item = index[i];
        var key = item.key;
        if (!words.every(function (w) { return key.indexOf(w) !== -1; })) continue;
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = base + "?procedure=" + encodeURIComponent(item.code);
        a.textContent = item.name;
        var code = document.createElement("span");
        code.className = "code";
        code.textContent = item.code;
        a.appendChild(code);
        li.appendChild(a);
        list.appendChild(li);
        shown++;
      }
      if (!shown) {
        var none = document.createElement("li");
        none.className = "muted";
        none.style.padding = ".4rem .6rem";
        none.textContent = list.getAttribute("data-empty") || "—";
        list.appendChild(none);
      }
    }

    input.addEventListener("input", render);
    input.addEventListener("keydown", function (event) {
      var first = list.querySelector("a");
      if (event.key === "ArrowDown" && first) {
        event.preventDefault();
        first.focus();
      }
    });
    list.addEventListener("keydown", function (event) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var at = links.indexOf(document.activeElement);
      if (at === -1) return;
      if (event.key === "ArrowDown" && at < links.length - 1) {
        event.preventDefault();
        links[at + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (at > 0 ? links[at - 1] : input).focus();
      }
    });
    form.addEventListener("submit", function (event) {
      // Enter picks the first match at once; with no match the server searches as usual.
      var first = list.querySelector("a");
      if (first && input.value.trim()) {
        event.preventDefault();
        window.location.href = first.href;
      }
    });
    if (input.value.trim() && !list.querySelector("a")) render();
  }

  function setupChecklist() {
    var form = document.getElementById("intake-form");
    if (!form) return;
    var rows = form.querySelectorAll("tr[data-doc]");
    var anyMissingTicked = form.querySelector("input[name=missing]:checked") !== null;

    function sync(row, initial) {
      var box = row.querySelector("input[name=received]");
      var id = row.getAttribute("data-doc");
      row.classList.toggle("got", box.checked);
      var missing = document.getElementById("missing-" + id);
      if (missing && !(initial && anyMissingTicked)) {
        missing.checked = !box.checked && row.getAttribute("data-required") === "true";
      }
    }

    Array.prototype.forEach.call(rows, function (row) {
      var box = row.querySelector("input[name=received]");
      box.addEventListener("change", function () { sync(row, false); });
      Array.prototype.forEach.call(row.querySelectorAll("input[type=number]"), function (n) {
        n.addEventListener("input", function () {
          var total = 0;
          Array.prototype.forEach.call(row.querySelectorAll("input[type=number]"), function (m) {
            total += parseInt(m.value, 10) || 0;
          });
          if (total > 0 && !box.checked) {
            box.checked = true;
            sync(row, false);
          }
        });
      });
      sync(row, true);
    });
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
  }

  // The phone is needed when the citizen is told by SMS: required (and marked) only then.
  function setupPhoneRequired() {
    var phone = document.getElementById("f-phone");
    var mark = document.getElementById("phone-required");
    if (!phone || !mark) return;
    var radios = document.querySelectorAll("input[name=notify]");
    function sync() {
      var sms = false;
      Array.prototype.forEach.call(radios, function (r) {
        if (r.checked && r.value === "sms") sms = true;
      });
      phone.required = sms;
      mark.setAttribute("data-sms-required", sms ? "true" : "false");
      mark.hidden = !sms;
    }
    Array.prototype.forEach.call(radios, function (r) { r.addEventListener("change", sync); });
    sync();
  }

  setupProcedureFilter();
  setupChecklist();
  setupPhoneRequired();
})();
