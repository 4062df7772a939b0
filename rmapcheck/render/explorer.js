// The trace explorer (html.py): one step shown at a time. The URL fragment
// names the step (#step-3), so a link to a step opens the page there; stepping
// rewrites the fragment with history.replaceState, so arrow keys do not fill
// the back button's history with one entry per step.
(function () {
  'use strict';
  var items = Array.prototype.slice.call(document.querySelectorAll('#steps > li'));
  var pictures = Array.prototype.slice.call(document.querySelectorAll('.picture'));
  var header = document.querySelector('header');
  var nav = document.querySelector('nav');
  var status = document.getElementById('status');
  var call = document.getElementById('current-call');
  var where = document.getElementById('current-where');
  var tag = document.getElementById('current-tag');
  var last = items.length - 1;
  var current = -1;

  function stepInHash() {
    var m = /^#step-(\d+)$/.exec(window.location.hash);
    return m ? Number(m[1]) : null;
  }

  function show(i) {
    i = Math.max(0, Math.min(last, i));
    if (i === current) { return; }
    current = i;
    items.forEach(function (li, k) { li.classList.toggle('selected', k === i); });
    pictures.forEach(function (p, k) { p.classList.toggle('shown', k === i); });
    var item = items[i];
    status.textContent = 'step ' + i + ' of ' + last + ':';
    call.textContent = item.dataset.call;
    where.textContent = item.dataset.where || '';
    tag.textContent = item.classList.contains('violation') ? 'violation' : '';
    document.body.setAttribute('data-step', String(i));
    var hash = '#step-' + i;
    if (window.location.hash !== hash) { history.replaceState(null, '', hash); }
    keepInList(item);
    // the expression box (expr_eval.js) evaluates in the state shown
    document.dispatchEvent(new CustomEvent('stepchange', {detail: i}));
  }

  // scrolls the step list alone: scrollIntoView would scroll the page too,
  // away from the picture being read
  function keepInList(item) {
    var r = item.getBoundingClientRect();
    var box = nav.getBoundingClientRect();
    if (r.top < box.top) {
      nav.scrollTop -= box.top - r.top;
    } else if (r.bottom > box.bottom) {
      nav.scrollTop += r.bottom - box.bottom;
    }
  }

  // the sticky step list sits just below the sticky header, whose height
  // depends on the window's width (its lines wrap)
  function fitHeader() {
    document.documentElement.style.setProperty('--header-h', header.offsetHeight + 'px');
  }

  items.forEach(function (li, k) {
    li.addEventListener('click', function (ev) { ev.preventDefault(); show(k); });
  });
  document.getElementById('prev').addEventListener('click', function () { show(current - 1); });
  document.getElementById('next').addEventListener('click', function () { show(current + 1); });
  // a link to another step (the explanation's "set at step 2") or a fragment
  // typed into the address bar
  window.addEventListener('hashchange', function () {
    var i = stepInHash();
    if (i !== null) { show(i); }
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    // typing an expression is not stepping
    if (ev.target && ev.target.tagName === 'INPUT') { return; }
    var k = ev.key;
    if (k === 'ArrowDown' || k === 'ArrowRight' || k === 'j') { show(current + 1); }
    else if (k === 'ArrowUp' || k === 'ArrowLeft' || k === 'k') { show(current - 1); }
    else if (k === 'Home') { show(0); }
    else if (k === 'End') { show(last); }
    else { return; }
    ev.preventDefault();
  });
  window.addEventListener('resize', fitHeader);
  fitHeader();
  var start = stepInHash();
  show(start === null ? last : start);
})();
