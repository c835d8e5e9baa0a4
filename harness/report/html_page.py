"""The frame of the HTML report: inline CSS, the gallery's filter script, and the page skeleton.
Nothing here loads anything from a network; the page works from a file:// URL in any browser."""

from __future__ import annotations

from html import escape

CSS = """
:root{--fg:#111827;--mut:#6b7280;--line:#e5e7eb;--bg:#f9fafb;--bad:#dc2626;--good:#16a34a}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1160px;margin:0 auto;padding:20px 24px 60px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:18px 0 6px}
.mut{color:var(--mut)}.small{font-size:12px}
.note{background:#fffbeb;border:1px solid #fcd34d;border-radius:6px;padding:6px 10px;margin:6px 0;font-size:13px}
.runs{border-collapse:collapse;margin:8px 0}.runs td{padding:2px 10px 2px 0;vertical-align:top}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.task{background:#fff;border:1px solid var(--line);border-radius:8px;padding:4px 16px 14px;margin:14px 0}
table.m{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
table.m th,table.m td{padding:3px 9px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
table.m th:first-child,table.m td:first-child{text-align:left}
table.m th{font-weight:600;font-size:12px;color:#374151;background:#f3f4f6}
.ci{color:var(--mut);font-size:11px;display:block;line-height:1.1}.f{color:var(--bad);font-weight:600}.l{color:var(--good);font-weight:600}
.chart{display:block;margin:6px 0}.scroll{overflow-x:auto}.flipbar{vertical-align:middle}
.filters{position:sticky;top:0;background:var(--bg);padding:10px 0;border-bottom:1px solid var(--line);z-index:2}
.filters label{margin-right:14px}.filters select{font:inherit;padding:2px 4px;max-width:260px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px;margin-top:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px;display:flex;gap:12px}
.card.forgotten{border-left:4px solid var(--bad)}.card.learned{border-left:4px solid var(--good)}
.pic{flex:0 0 160px}.pic img{width:160px;height:auto;border-radius:4px;display:block;image-rendering:auto}
.noimg{width:160px;min-height:90px;border:1px dashed #d1d5db;border-radius:4px;color:var(--mut);font-size:11px;
 padding:6px;overflow-wrap:anywhere}
.body{flex:1;min-width:0}.head{font-size:12px;color:var(--mut);overflow-wrap:anywhere}
.q{margin:4px 0 6px;font-weight:500;overflow-wrap:anywhere}
.q.prompt{white-space:pre-wrap;font:12px ui-monospace,monospace}
.badge{display:inline-block;border-radius:9px;padding:0 7px;font-size:11px;color:#fff;margin-left:4px}
.badge.forgotten{background:var(--bad)}.badge.learned{background:var(--good)}
.badge.both_right{background:#6b9e7a}.badge.both_wrong{background:#b07b7b}
table.o{border-collapse:collapse;width:100%;font-size:12px;font-variant-numeric:tabular-nums}
table.o td,table.o th{padding:2px 4px;border-bottom:1px solid #f3f4f6;vertical-align:middle;white-space:nowrap}
table.o th{font-weight:600;text-align:left;color:#374151}
table.o td.opt{white-space:normal;overflow-wrap:anywhere;width:40%}
tr.ans td.opt{color:var(--good);font-weight:600}
.bar{display:inline-block;width:56px;height:9px;background:#f3f4f6;border-radius:2px;vertical-align:middle;overflow:hidden}
.bar>span{display:block;height:100%}
td.pick{outline:2px solid #111827;outline-offset:-2px;border-radius:3px}
.gen{font-size:12px;color:#374151}
footer{margin-top:30px;font-size:12px;color:var(--mut)}
"""

JS = """
(function(){
var cards=Array.prototype.slice.call(document.querySelectorAll('.card'));
var ft=document.getElementById('f-task'),fc=document.getElementById('f-cat'),fk=document.getElementById('f-kind');
var shown=document.getElementById('f-count');
if(!ft)return;
function cats(){
  var t=ft.value,seen={},list=[];
  cards.forEach(function(c){var k=c.getAttribute('data-cat');
    if((t===''||c.getAttribute('data-task')===t)&&!seen[k]){seen[k]=1;list.push(k);}});
  list.sort();
  while(fc.options.length>1)fc.remove(1);
  list.forEach(function(k){var o=document.createElement('option');o.value=k;o.textContent=k;fc.appendChild(o);});
}
function update(){
  var t=ft.value,c=fc.value,k=fk.value,n=0;
  cards.forEach(function(el){
    var ok=(t===''||el.getAttribute('data-task')===t)&&(c===''||el.getAttribute('data-cat')===c)&&
      (k===''||(' '+el.getAttribute('data-kinds')+' ').indexOf(' '+k+' ')>=0);
    el.style.display=ok?'':'none';if(ok)n++;});
  shown.textContent=n;
}
ft.addEventListener('change',function(){cats();update();});
fc.addEventListener('change',update);fk.addEventListener('change',update);
cats();update();
})();
"""


def page(title: str, body: str) -> str:
    """A complete HTML document with the inline style and script."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body><main>\n{body}\n</main><script>{JS}</script></body></html>\n"
    )
