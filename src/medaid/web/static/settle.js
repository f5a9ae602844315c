// 结算 form: who the person number is, shown as soon as it is typed (GET /settle/person).
(function () {
  "use strict";
  var input = document.querySelector('form.visit input[name="psn_no"]');
  var out = document.getElementById("person-found");
  if (!input || !out) { return; }
  var start = document.querySelector('form.visit input[name="start"]');
  var timer = null;
  var asked = "";
  function show(text, bad) {
    out.textContent = text;
    out.className = "found " + (bad ? "bad" : "ok");
  }
  function look() {
    var number = input.value.trim();
    var on = start && start.value ? start.value : "";
    if (number + "|" + on === asked) { return; }
    asked = number + "|" + on;
    if (!number) { out.textContent = ""; return; }
    var url = "/settle/person?psn_no=" + encodeURIComponent(number) + (on ? "&on=" + on : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (x) {
        if (asked !== number + "|" + on) { return; }  // a later number was typed
        if (x.ok) {
          var who = x.body.categories.length ? x.body.categories.join("、") : "无在保身份";
          show(x.body.name + " · " + who + " · " + x.body.district, false);
        } else {
          show(x.body.message || "未找到此人员编号", true);
        }
      })
      .catch(function () { show("暂时无法查询人员信息", true); });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(look, 250);
  });
  input.addEventListener("change", look);
  if (start) { start.addEventListener("change", look); }
  look();
}());
