// The explorer's expression box (html.py, html_eval.py): an expression of the
// spec language (spec/LANGUAGE.md section 10), typed by the reader, is parsed
// here and evaluated in the state of the step shown, and its value is written
// as `rmapcheck eval` prints it: none, true, p0 for a process, records and
// sets in braces. A mistake (syntax, an unknown name, none used as a value)
// is one line in the page.
//
// The parser builds the JSON AST that html_eval.py makes of each def's
// checked body, so one evaluator runs both: a call evaluates the def's body
// with its parameters bound (lazily: an argument the body does not read is
// never evaluated, as in the spec language).
(function () {
  'use strict';
  var dataNode = document.getElementById('eval-data');
  if (!dataNode) { return; }
  var data = JSON.parse(dataNode.textContent);

  function SpecError(message) { this.message = message; }

  // ------------------------------------------------------------ lexer

  var KEYWORDS = ['forall', 'exists', 'count', 'choose', 'if', 'then', 'else', 'and', 'or',
                  'not', 'in', 'true', 'false', 'none', 'with'];
  var SYMBOLS = ['<->', '->', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '|',
                 '&', '(', ')', '[', ']', '{', '}', ',', '.', ':', '!'];

  function lex(text) {
    var toks = [];
    var i = 0;
    while (i < text.length) {
      var c = text[i];
      if (/\s/.test(c)) { i++; continue; }
      if (c === '#') { break; }
      var m = /^[A-Za-z_][A-Za-z_0-9]*/.exec(text.slice(i));
      if (m) {
        var kw = KEYWORDS.indexOf(m[0]) >= 0;
        toks.push({k: kw ? m[0] : 'name', v: m[0], col: i + 1});
        i += m[0].length;
        continue;
      }
      m = /^[0-9]+/.exec(text.slice(i));
      if (m) {
        toks.push({k: 'int', v: Number(m[0]), col: i + 1});
        i += m[0].length;
        continue;
      }
      var sym = null;
      for (var s = 0; s < SYMBOLS.length; s++) {
        if (text.substr(i, SYMBOLS[s].length) === SYMBOLS[s]) { sym = SYMBOLS[s]; break; }
      }
      if (sym === null) { throw new SpecError('column ' + (i + 1) + ": unexpected '" + c + "'"); }
      toks.push({k: sym, v: sym, col: i + 1});
      i += sym.length;
    }
    toks.push({k: 'end', v: 'the end', col: text.length + 1});
    return toks;
  }

  // ------------------------------------------------------------ parser

  var QUANTS = ['forall', 'exists', 'count', 'choose'];
  var COMPARE = {'==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge',
                 'in': 'in'};
  var SUM = {'+': 'add', '-': 'sub', '|': 'union'};
  var PRODUCT = {'*': 'mul', '/': 'div', '%': 'mod', '&': 'inter'};

  function parse(text) {
    var toks = lex(text);
    var pos = 0;
    function peek(k) { return toks[pos].k === k; }
    function fail(what) {
      var t = toks[pos];
      var seen = t.k === 'end' ? 'end of the expression' : "'" + t.v + "'";
      throw new SpecError('column ' + t.col + ': unexpected ' + seen +
                          (what ? '; expected ' + what : ''));
    }
    function take(k, what) {
      if (!peek(k)) { fail(what || "'" + k + "'"); }
      return toks[pos++];
    }

    function expr() {
      if (QUANTS.indexOf(toks[pos].k) >= 0) { return quant(); }
      if (peek('if')) {
        pos++;
        var c = expr();
        take('then');
        var a = expr();
        take('else');
        return {t: 'ite', c: c, a: a, b: expr()};
      }
      return implies();
    }
    function quant() {
      var q = toks[pos++].k;
      var vars = [];
      do {
        var name = take('name', 'a variable').v;
        take(':');
        vars.push([name, take('name', 'a sort').v]);
      } while (peek(',') && ++pos);
      take('.');
      return {t: 'quant', q: q, vars: vars, b: expr()};
    }
    function orQuant(next) { return QUANTS.indexOf(toks[pos].k) >= 0 ? quant() : next(); }
    function implies() {
      var l = or();
      if (peek('->') || peek('<->')) {
        var op = toks[pos++].k === '->' ? 'implies' : 'iff';
        return {t: 'bin', op: op, l: l, r: orQuant(implies)};
      }
      return l;
    }
    function or() {
      var l = and();
      while (peek('or')) { pos++; l = {t: 'bin', op: 'or', l: l, r: orQuant(and)}; }
      return l;
    }
    function and() {
      var l = not();
      while (peek('and')) { pos++; l = {t: 'bin', op: 'and', l: l, r: orQuant(not)}; }
      return l;
    }
    function not() {
      if (peek('not')) { pos++; return {t: 'not', a: not()}; }
      return compare();
    }
    function compare() {
      var operands = [sum()];
      var ops = [];
      while (COMPARE.hasOwnProperty(toks[pos].k)) {
        ops.push(COMPARE[toks[pos++].k]);
        operands.push(sum());
      }
      var out = null;
      for (var i = 0; i < ops.length; i++) {
        var one = {t: 'bin', op: ops[i], l: operands[i], r: operands[i + 1]};
        out = out === null ? one : {t: 'bin', op: 'and', l: out, r: one};
      }
      return out === null ? operands[0] : out;
    }
    function sum() {
      var l = product();
      while (SUM.hasOwnProperty(toks[pos].k)) {
        var op = SUM[toks[pos++].k];
        l = {t: 'bin', op: op, l: l, r: product()};
      }
      return l;
    }
    function product() {
      var l = unary();
      while (PRODUCT.hasOwnProperty(toks[pos].k)) {
        var op = PRODUCT[toks[pos++].k];
        l = {t: 'bin', op: op, l: l, r: unary()};
      }
      return l;
    }
    function unary() {
      if (peek('-')) { pos++; return {t: 'neg', a: unary()}; }
      return postfix();
    }
    function args(close) {
      var out = [];
      while (!peek(close)) {
        out.push(expr());
        if (!peek(',')) { break; }
        pos++;
      }
      take(close);
      return out;
    }
    function namedArgs() {
      var out = [];
      while (!peek(')')) {
        var name = take('name', 'a field name').v;
        take(':');
        out.push([name, expr()]);
        if (!peek(',')) { break; }
        pos++;
      }
      take(')');
      return out;
    }
    function postfix() {
      var e = atom();
      for (;;) {
        if (peek('[')) { pos++; e = {t: 'index', b: e, k: args(']')}; }
        else if (peek('.')) { pos++; e = {t: 'field', b: e, n: take('name', 'a field').v}; }
        else if (peek('with')) { pos++; take('('); e = {t: 'with', b: e, f: namedArgs()}; }
        else if (peek('!')) { pos++; e = {t: 'unwrap', a: e}; }
        else { return e; }
      }
    }
    function atom() {
      var t = toks[pos];
      switch (t.k) {
        case 'name':
          pos++;
          if (peek('(')) {
            pos++;
            if (peek('name') && toks[pos + 1].k === ':') {
              return {t: 'rec', s: t.v, f: namedArgs()};
            }
            return {t: 'call', n: t.v, a: args(')')};
          }
          return {t: 'name', n: t.v};
        case 'int': pos++; return {t: 'lit', v: t.v, s: 'Int'};
        case 'true': pos++; return {t: 'lit', v: true, s: 'Bool'};
        case 'false': pos++; return {t: 'lit', v: false, s: 'Bool'};
        case 'none': pos++; return {t: 'none', s: null};
        case '{': pos++; return {t: 'set', s: null, e: args('}')};
        case '(': {
          pos++;
          var e = expr();
          take(')');
          return e;
        }
        default: return fail('an expression');
      }
    }
    var tree = expr();
    if (!peek('end')) { fail('an operator or the end'); }
    return tree;
  }

  // ------------------------------------------------------------ values and sorts

  function sortOf(ref) {
    if (ref === null || ref === undefined) { return null; }
    if (typeof ref === 'string') {
      if (!data.sorts.hasOwnProperty(ref)) { throw new SpecError("unknown sort '" + ref + "'"); }
      return data.sorts[ref];
    }
    return ref;
  }
  function inner(ref) {
    var s = sortOf(ref);
    return s && s.opt !== undefined ? s.opt : ref;
  }
  function values(ref) {
    var s = sortOf(ref);
    if (!s || !s.values) { throw new SpecError('cannot quantify over ' + show(ref)); }
    return s.values;
  }
  function show(ref) {
    if (ref === null || ref === undefined) { return '?'; }
    if (typeof ref === 'string') { return ref; }
    if (ref.opt !== undefined) { return show(ref.opt) + '?'; }
    return 'set ' + show(ref.set);
  }

  function cmp(a, b) {
    if (typeof a === 'string' && typeof b === 'string') { return a < b ? -1 : a > b ? 1 : 0; }
    return Number(a) - Number(b);
  }
  function equal(a, b) {
    if (a === b) { return true; }
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') {
      return false;
    }
    if (Array.isArray(a) !== Array.isArray(b)) { return false; }
    var ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) { return false; }
    return ka.every(function (k) { return equal(a[k], b[k]); });
  }
  function setOf(items) {
    var out = [];
    items.slice().sort(cmp).forEach(function (v) {
      if (!out.some(function (w) { return equal(v, w); })) { out.push(v); }
    });
    return out;
  }

  function format(v, ref) {
    if (v === null) { return 'none'; }
    var s = sortOf(inner(ref));
    if (Array.isArray(v)) {
      var elem = s && s.set !== undefined ? s.set : null;
      return '{' + v.map(function (x) { return format(x, elem); }).join(', ') + '}';
    }
    if (typeof v === 'object') {
      var fields = s && s.fields ? s.fields : Object.keys(v).map(function (k) { return [k, null]; });
      return '{' + fields.map(function (f) { return f[0] + ': ' + format(v[f[0]], f[1]); })
        .join(', ') + '}';
    }
    if (typeof v === 'boolean') { return v ? 'true' : 'false'; }
    if (typeof v === 'number' && s && s.prefix) { return s.prefix + v; }
    return String(v);
  }

  // ------------------------------------------------------------ evaluator

  // A value is [raw, sort]: raw as html_eval.py decodes the state (null for
  // none), sort as it writes sorts, or null where nothing fixes it.
  function Scope(parent) { this.parent = parent; this.names = {}; }
  Scope.prototype.find = function (name) {
    for (var s = this; s; s = s.parent) {
      if (s.names.hasOwnProperty(name)) { return s.names[name]; }
    }
    return null;
  };
  function force(slot) {
    if (slot.thunk) { slot.value = slot.thunk(); slot.thunk = null; }
    return slot.value;
  }

  function need(v, what) {
    if (v[0] === null) { throw new SpecError(what + ' is none'); }
    return v[0];
  }
  function number(v, op) {
    var x = need(v, "an operand of '" + op + "'");
    if (typeof x !== 'number') { throw new SpecError("'" + op + "' needs numbers"); }
    return x;
  }
  function bool(v, what) {
    var x = need(v, what);
    if (typeof x !== 'boolean') { throw new SpecError(what + ' is not a Bool'); }
    return x;
  }
  function set(v, op) {
    var x = need(v, "an operand of '" + op + "'");
    if (!Array.isArray(x)) { throw new SpecError("'" + op + "' needs sets"); }
    return x;
  }

  function readState(state, name, keys) {
    var decl = data.vars[name];
    if (keys.length !== decl.keys.length) {
      throw new SpecError(name + ' has ' + decl.keys.length + ' key' +
                          (decl.keys.length === 1 ? '' : 's') + ', not ' + keys.length);
    }
    if (!keys.length) { return [state[name], decl.sort]; }
    var raw = keys.map(function (k) { return need(k, 'a key of ' + name); });
    var text = JSON.stringify(raw);
    if (!state[name].hasOwnProperty(text)) {
      throw new SpecError('[' + raw.map(function (k, i) { return format(k, decl.keys[i]); })
        .join(', ') + '] is outside the keys of ' + name);
    }
    return [state[name][text], decl.sort];
  }

  function enumOf(name) {
    for (var s in data.sorts) {
      if (data.sorts[s].k === 'enum' && data.sorts[s].values.indexOf(name) >= 0) { return s; }
    }
    return null;
  }

  function record(name, fields, scope, state) {
    var s = data.sorts[name];
    if (!s || s.k !== 'rec') { throw new SpecError("unknown record '" + name + "'"); }
    var out = JSON.parse(JSON.stringify(s['default']));
    fields.forEach(function (f) {
      if (!out.hasOwnProperty(f[0])) {
        throw new SpecError(name + " has no field '" + f[0] + "'");
      }
      out[f[0]] = ev(f[1], scope, state)[0];
    });
    return [out, name];
  }

  function call(name, argNodes, scope, state) {
    var def = data.defs[name];
    if (!def) {
      if (data.sorts[name] && data.sorts[name].k === 'rec' && !argNodes.length) {
        return record(name, [], scope, state);
      }
      throw new SpecError("unknown name '" + name + "'");
    }
    if (argNodes.length !== def.params.length) {
      throw new SpecError(name + ' takes ' + def.params.length + ' argument' +
                          (def.params.length === 1 ? '' : 's') + ', not ' + argNodes.length);
    }
    var body = new Scope(null);
    def.params.forEach(function (p, i) {
      body.names[p[0]] = {thunk: function () {
        var v = ev(argNodes[i], scope, state);
        var s = sortOf(p[1]);
        if (v[0] === null && !(s && s.opt !== undefined)) {
          throw new SpecError('the argument ' + p[0] + ' of ' + name + ' is none');
        }
        return [v[0], p[1]];
      }};
    });
    return [ev(def.body, body, state)[0], def.sort];
  }

  function name(n, scope, state) {
    var local = scope.find(n);
    if (local) { return force(local); }
    if (data.consts.hasOwnProperty(n)) { return [data.consts[n], 'Int']; }
    if (data.vars.hasOwnProperty(n)) { return readState(state, n, []); }
    var member = enumOf(n);
    if (member) { return [n, member]; }
    if (data.defs.hasOwnProperty(n) && !data.defs[n].params.length) {
      return call(n, [], scope, state);
    }
    // a property's name stands for its body, as in rmapcheck eval
    if (data.props.hasOwnProperty(n)) { return ev(data.props[n], new Scope(null), state); }
    throw new SpecError("unknown name '" + n + "'");
  }

  function quantify(node, scope, state) {
    var vars = node.vars;
    var lists = vars.map(function (v) { return values(v[1]); });
    var count = 0;
    var inside = new Scope(scope);
    var combo = [];
    function holds() {
      vars.forEach(function (v, i) { inside.names[v[0]] = {value: [combo[i], v[1]]}; });
      return bool(ev(node.b, inside, state), 'the body of ' + node.q);
    }
    // true to stop
    function walk(i) {
      if (i === vars.length) {
        var h = holds();
        if (h) { count++; }
        return node.q === 'forall' ? !h : node.q !== 'count' && h;
      }
      for (var k = 0; k < lists[i].length; k++) {
        combo[i] = lists[i][k];
        if (walk(i + 1)) { return true; }
      }
      return false;
    }
    var stopped = walk(0);
    switch (node.q) {
      case 'forall': return [!stopped, 'Bool'];
      case 'exists': return [stopped, 'Bool'];
      case 'count': return [count, 'Int'];
      default:
        if (vars.length !== 1) { throw new SpecError('choose binds one variable'); }
        return [stopped ? combo[0] : null, {opt: vars[0][1]}];
    }
  }

  function binary(node, scope, state) {
    var op = node.op;
    var l = ev(node.l, scope, state);
    switch (op) {
      case 'and': return [bool(l, "'and'") && bool(ev(node.r, scope, state), "'and'"), 'Bool'];
      case 'or': return [bool(l, "'or'") || bool(ev(node.r, scope, state), "'or'"), 'Bool'];
      case 'implies':
        return [!bool(l, "'->'") || bool(ev(node.r, scope, state), "'->'"), 'Bool'];
      default: break;
    }
    var r = ev(node.r, scope, state);
    switch (op) {
      case 'iff': return [bool(l, "'<->'") === bool(r, "'<->'"), 'Bool'];
      case 'eq': return [equal(l[0], r[0]), 'Bool'];
      case 'ne': return [!equal(l[0], r[0]), 'Bool'];
      case 'lt': return [number(l, '<') < number(r, '<'), 'Bool'];
      case 'le': return [number(l, '<=') <= number(r, '<='), 'Bool'];
      case 'gt': return [number(l, '>') > number(r, '>'), 'Bool'];
      case 'ge': return [number(l, '>=') >= number(r, '>='), 'Bool'];
      case 'in': {
        var x = need(l, "the left operand of 'in'");
        return [set(r, 'in').some(function (y) { return equal(x, y); }), 'Bool'];
      }
      default: break;
    }
    if (Array.isArray(l[0]) || op === 'union' || op === 'inter' || op === 'diff') {
      var symbol = {add: '+', union: '|', sub: '-', diff: '-', inter: '&'}[op];
      if (!symbol) { throw new SpecError('sets have no ' + op); }
      var a = set(l, symbol);
      var b = set(r, symbol);
      var has = function (s, v) { return s.some(function (w) { return equal(v, w); }); };
      var sort = l[1] || r[1];
      if (symbol === '+' && op === 'add' || symbol === '|') { return [setOf(a.concat(b)), sort]; }
      if (symbol === '&') { return [a.filter(function (v) { return has(b, v); }), sort]; }
      return [a.filter(function (v) { return !has(b, v); }), sort];
    }
    var symbols = {add: '+', sub: '-', mul: '*', div: '/', mod: '%'};
    var i = number(l, symbols[op]);
    var j = number(r, symbols[op]);
    switch (op) {
      case 'add': return [i + j, 'Int'];
      case 'sub': return [i - j, 'Int'];
      case 'mul': return [i * j, 'Int'];
      default:
        if (j === 0) { throw new SpecError('division by zero'); }
        var q = Math.floor(i / j);
        return [op === 'div' ? q : i - j * q, 'Int'];
    }
  }

  function ev(node, scope, state) {
    switch (node.t) {
      case 'lit': return [node.v, node.s];
      case 'none': return [null, node.s];
      case 'const': return [data.consts[node.n], 'Int'];
      case 'local': {
        var slot = scope.find(node.n);
        if (!slot) { throw new SpecError("unknown name '" + node.n + "'"); }
        return force(slot);
      }
      case 'name': return name(node.n, scope, state);
      case 'state': return readState(state, node.n, node.k.map(function (k) {
        return ev(k, scope, state);
      }));
      case 'index': {
        var base = node.b;
        if (base.t !== 'name' || scope.find(base.n) || !data.vars.hasOwnProperty(base.n)) {
          throw new SpecError(base.t === 'name' && !data.vars.hasOwnProperty(base.n) &&
                              !scope.find(base.n) && !data.consts.hasOwnProperty(base.n)
            ? "unknown name '" + base.n + "'" : 'only a state variable can be indexed');
        }
        return readState(state, base.n, node.k.map(function (k) {
          return ev(k, scope, state);
        }));
      }
      case 'field': {
        var b = ev(node.b, scope, state);
        var s = sortOf(inner(b[1]));
        if (b[0] === null) { throw new SpecError("field '" + node.n + "' of none"); }
        if (typeof b[0] !== 'object' || Array.isArray(b[0]) || !b[0].hasOwnProperty(node.n)) {
          throw new SpecError("no field '" + node.n + "' in " + format(b[0], b[1]));
        }
        var fsort = null;
        (s && s.fields || []).forEach(function (f) { if (f[0] === node.n) { fsort = f[1]; } });
        return [b[0][node.n], fsort];
      }
      case 'not': return [!bool(ev(node.a, scope, state), "the operand of 'not'"), 'Bool'];
      case 'neg': return [-number(ev(node.a, scope, state), '-'), 'Int'];
      case 'bin': return binary(node, scope, state);
      case 'ite':
        return bool(ev(node.c, scope, state), 'the condition of if')
          ? ev(node.a, scope, state) : ev(node.b, scope, state);
      case 'quant': return quantify(node, scope, state);
      case 'rec': return record(node.s, node.f, scope, state);
      case 'with': {
        var r = ev(node.b, scope, state);
        var copy = JSON.parse(JSON.stringify(need(r, "the record before 'with'")));
        node.f.forEach(function (f) {
          if (!copy.hasOwnProperty(f[0])) { throw new SpecError("no field '" + f[0] + "'"); }
          copy[f[0]] = ev(f[1], scope, state)[0];
        });
        return [copy, inner(r[1])];
      }
      case 'set': {
        var elems = node.e.map(function (e) { return ev(e, scope, state); });
        var sort = node.s || (elems.length && elems[0][1] ? {set: inner(elems[0][1])} : null);
        return [setOf(elems.map(function (e) { return need(e, 'a set element'); })), sort];
      }
      case 'wrap': return [ev(node.a, scope, state)[0], node.s];
      case 'unwrap': {
        var v = ev(node.a, scope, state);
        return [need(v, 'the value'), inner(v[1])];
      }
      case 'call': return call(node.n, node.a, scope, state);
      default: throw new SpecError('unknown node ' + node.t);
    }
  }

  // The value of `text` in state `step`, as rmapcheck eval prints it, or
  // {error: one line}.
  function evaluate(text, step) {
    try {
      var tree = parse(text);
      var v = ev(tree, new Scope(null), data.states[step]);
      return {value: format(v[0], v[1])};
    } catch (err) {
      if (err instanceof SpecError) { return {error: err.message}; }
      return {error: String(err && err.message || err)};
    }
  }
  window.rmapcheckEval = evaluate;

  // ------------------------------------------------------------ the box

  var input = document.getElementById('expr');
  var output = document.getElementById('expr-value');
  if (!input || !output) { return; }
  function update() {
    var text = input.value;
    var step = Number(document.body.getAttribute('data-step') || data.states.length - 1);
    output.classList.remove('error');
    if (!/\S/.test(text)) { output.textContent = ''; return; }
    var result = evaluate(text, step);
    if (result.error !== undefined) {
      output.classList.add('error');
      output.textContent = 'error: ' + result.error;
    } else {
      output.textContent = result.value;
    }
  }
  input.addEventListener('input', update);
  document.addEventListener('stepchange', update);
  update();
})();
