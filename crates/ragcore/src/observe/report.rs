//! The dashboard: one self-contained HTML file (inline SVG drawn by inline JavaScript from an
//! embedded JSON block; no network, no CDN). Aggregates are computed here, the page only draws.
//! Each chart sets `data-rendered="true"` and `data-points="N"` once drawn, and `<body>` gets
//! `data-charts="N"`, so a browser test can check that the charts rendered with data.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{percentile, Alert, AskEvent};
use crate::error::{Error, Result};

/// A document whose `valid_until` date has passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleDocument {
    /// Tenant.
    pub tenant: String,
    /// Document id.
    pub id: String,
    /// The date it stopped being valid.
    pub valid_until: String,
    /// Where it came from.
    pub source: String,
}

/// What the dashboard shows.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// Title of the page.
    pub title: String,
    /// The ask events (from the event log).
    pub events: Vec<AskEvent>,
    /// Stale documents.
    pub stale: Vec<StaleDocument>,
    /// Alerts fired.
    pub alerts: Vec<Alert>,
    /// When the report was made (shown in the header).
    pub generated_at: String,
}

fn day_of(ms: i64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", if m <= 2 { y + 1 } else { y })
}

/// The aggregates the page draws, as JSON.
pub fn report_data(input: &ReportInput) -> serde_json::Value {
    let ev = &input.events;
    let days: BTreeSet<String> = ev.iter().map(|e| day_of(e.at_ms)).collect();
    let tenants: BTreeSet<String> = ev.iter().map(|e| e.tenant.clone()).collect();
    let mut cost: BTreeMap<(String, String), f64> = BTreeMap::new();
    for e in ev {
        *cost.entry((e.tenant.clone(), day_of(e.at_ms))).or_default() += e.cost_usd;
    }
    let cost_series: Vec<_> = tenants
        .iter()
        .map(|t| {
            json!({"tenant": t, "values": days.iter().map(|d| cost.get(&(t.clone(), d.clone())).copied().unwrap_or(0.0)).collect::<Vec<_>>()})
        })
        .collect();
    let mut stages: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for e in ev {
        for (s, ms) in &e.timings {
            stages.entry(s.clone()).or_default().push(*ms);
        }
        if e.outcome != "error" {
            stages.entry("total".into()).or_default().push(e.latency_ms);
        }
    }
    let latency: Vec<_> = stages
        .iter_mut()
        .map(|(s, v)| {
            v.sort_by(|a, b| a.total_cmp(b));
            json!({"stage": s, "p50": percentile(v, 0.5), "p95": percentile(v, 0.95), "p99": percentile(v, 0.99), "n": v.len()})
        })
        .collect();
    let mut buckets = [0u64; 10];
    for g in ev.iter().filter_map(|e| e.groundedness) {
        buckets[((g.clamp(0.0, 1.0) * 10.0) as usize).min(9)] += 1;
    }
    let hits = ev
        .iter()
        .filter(|e| e.outcome != "error" && e.cache_hit)
        .count();
    let misses = ev
        .iter()
        .filter(|e| e.outcome != "error" && !e.cache_hit)
        .count();
    let mut unanswered: HashMap<&str, usize> = HashMap::new();
    for e in ev.iter().filter(|e| e.outcome == "no_answer") {
        *unanswered.entry(e.question.as_str()).or_default() += 1;
    }
    let mut top: Vec<(&str, usize)> = unanswered.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    top.truncate(10);
    let answered = ev.iter().filter(|e| e.outcome == "answered").count();
    let errors = ev.iter().filter(|e| e.outcome == "error").count();
    json!({
        "title": input.title,
        "generated_at": input.generated_at,
        "summary": {
            "asks": ev.len(), "answered": answered, "no_answer": ev.len() - answered - errors,
            "errors": errors, "cost_usd": ev.iter().map(|e| e.cost_usd).sum::<f64>(),
        },
        "cost": {"days": days, "series": cost_series},
        "latency": latency,
        "groundedness": buckets,
        "cache": {"hits": hits, "misses": misses},
        "unanswered": top.iter().map(|(q, n)| json!({"question": q, "count": n})).collect::<Vec<_>>(),
        "stale": input.stale,
        "alerts": input.alerts,
    })
}

/// The dashboard as one HTML document.
pub fn render_report(input: &ReportInput) -> Result<String> {
    let data = serde_json::to_string(&report_data(input))
        .map_err(|e| Error::Internal(format!("report data to JSON: {e}")))?
        // Keep the JSON inside its <script> element whatever the questions contain.
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--");
    Ok(TEMPLATE.replace("__DATA__", &data))
}

const TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>ragcore report</title>
<style>
body{font-family:system-ui,sans-serif;margin:16px;background:#f6f7f9;color:#222}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:0 0 8px}
.grid{display:grid;grid-template-columns:repeat(2,minmax(380px,1fr));gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}
.summary span{display:inline-block;margin-right:18px;font-size:14px}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{border-bottom:1px solid #eee;padding:3px 4px;text-align:left}
.legend{font-size:11px}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
svg text{font-size:10px;fill:#333}
</style></head>
<body data-charts="0">
<h1 id="title">ragcore report</h1><div id="generated" style="font-size:12px;color:#666"></div>
<div class="card summary" id="summary" style="margin:10px 0"></div>
<div class="grid">
<div class="card"><h2>Cost per day and tenant (USD)</h2><div class="chart" id="chart-cost"></div></div>
<div class="card"><h2>Latency percentiles per stage (ms)</h2><div class="chart" id="chart-latency"></div></div>
<div class="card"><h2>Groundedness distribution</h2><div class="chart" id="chart-groundedness"></div></div>
<div class="card"><h2>Answer-cache hit rate</h2><div class="chart" id="chart-cache"></div></div>
<div class="card"><h2>Top unanswered questions</h2><table id="table-unanswered"><thead><tr><th>question</th><th>times</th></tr></thead><tbody></tbody></table></div>
<div class="card"><h2>Stale documents</h2><table id="table-stale"><thead><tr><th>tenant</th><th>document</th><th>valid until</th><th>source</th></tr></thead><tbody></tbody></table></div>
<div class="card" style="grid-column:1/-1"><h2>Fired alerts</h2><table id="table-alerts"><thead><tr><th>rule</th><th>metric</th><th>value</th><th>threshold</th><th>events</th><th>at</th></tr></thead><tbody></tbody></table></div>
</div>
<script type="application/json" id="data">__DATA__</script>
<script>
(function(){
var D=JSON.parse(document.getElementById('data').textContent);
var NS='http://www.w3.org/2000/svg',COLORS=['#4e79a7','#f28e2b','#e15759','#76b7b2','#59a14f','#edc948','#b07aa1','#ff9da7'];
function el(tag,attrs,parent){var e=document.createElementNS(NS,tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(parent)parent.appendChild(e);return e;}
function txt(parent,x,y,s,anchor){var t=el('text',{x:x,y:y,'text-anchor':anchor||'middle'},parent);t.textContent=s;return t;}
function fmt(v){return v>=100?v.toFixed(0):v>=1?v.toFixed(2):v.toPrecision(2);}
function done(id,n){var c=document.getElementById(id);c.setAttribute('data-rendered','true');c.setAttribute('data-points',String(n));
 document.body.setAttribute('data-charts',String(Number(document.body.getAttribute('data-charts'))+1));}
function empty(id,msg){var c=document.getElementById(id);c.textContent=msg;c.setAttribute('data-rendered','true');c.setAttribute('data-points','0');}
// groups: [{label, values:[..]}], series names for the legend
function bars(id,labels,series,names,stacked){
 var W=460,H=220,L=50,B=40,T=10,c=document.getElementById(id);
 var n=labels.length;if(!n){empty(id,'no data');return;}
 var max=0;for(var i=0;i<n;i++){var s=0;for(var j=0;j<series.length;j++){var v=series[j][i]||0;s=stacked?s+v:Math.max(s,v);}max=Math.max(max,s);}
 if(max<=0)max=1;
 var svg=el('svg',{width:W,height:H,viewBox:'0 0 '+W+' '+H},c),pw=W-L-10,ph=H-B-T,gw=pw/n,points=0;
 for(var k=0;k<=4;k++){var y=T+ph-ph*k/4;el('line',{x1:L,x2:W-10,y1:y,y2:y,stroke:'#eee'},svg);txt(svg,L-4,y+3,fmt(max*k/4),'end');}
 for(var i=0;i<n;i++){var x0=L+i*gw,acc=0;
  for(var j=0;j<series.length;j++){var v=series[j][i]||0,h=ph*v/max;
   var bx=stacked?x0+gw*0.15:x0+gw*0.1+j*(gw*0.8/series.length),bw=stacked?gw*0.7:gw*0.8/series.length;
   var by=stacked?T+ph-acc-h:T+ph-h;acc+=stacked?h:0;
   var r=el('rect',{x:bx,y:by,width:Math.max(bw,1),height:Math.max(h,0),fill:COLORS[j%COLORS.length],'class':'bar','data-value':v},svg);
   el('title',{},r).textContent=(names[j]||'')+' '+labels[i]+': '+fmt(v);points++;}
  txt(svg,x0+gw/2,H-B+14,labels[i].length>12?labels[i].slice(0,12):labels[i]);}
 el('line',{x1:L,x2:W-10,y1:T+ph,y2:T+ph,stroke:'#999'},svg);
 if(names.length>1||names[0]){var lg=document.createElement('div');lg.className='legend';
  names.forEach(function(nm,j){var i=document.createElement('i');i.style.background=COLORS[j%COLORS.length];lg.appendChild(i);lg.appendChild(document.createTextNode(nm));});c.appendChild(lg);}
 done(id,points);}
function rows(id,items,cols){var tb=document.querySelector('#'+id+' tbody');
 if(!items.length){var tr=tb.insertRow();var td=tr.insertCell();td.colSpan=cols.length;td.textContent='none';}
 items.forEach(function(it){var tr=tb.insertRow();cols.forEach(function(f){tr.insertCell().textContent=f(it);});});
 document.getElementById(id).setAttribute('data-rows',String(items.length));}
document.getElementById('title').textContent=D.title||'ragcore report';
document.getElementById('generated').textContent='generated '+D.generated_at;
var S=D.summary,sm=document.getElementById('summary');
[['asks',S.asks],['answered',S.answered],['not in KB',S.no_answer],['errors',S.errors],['cost $',S.cost_usd.toFixed(4)]].forEach(function(p){var s=document.createElement('span');s.textContent=p[0]+': '+p[1];sm.appendChild(s);});
bars('chart-cost',D.cost.days,D.cost.series.map(function(s){return s.values;}),D.cost.series.map(function(s){return s.tenant;}),true);
bars('chart-latency',D.latency.map(function(s){return s.stage;}),['p50','p95','p99'].map(function(p){return D.latency.map(function(s){return s[p];});}),['p50','p95','p99'],false);
var gl=[];for(var i=0;i<10;i++)gl.push((i/10).toFixed(1)+'-'+((i+1)/10).toFixed(1));
if(D.groundedness.reduce(function(a,b){return a+b;},0)>0)bars('chart-groundedness',gl,[D.groundedness],['answers'],false);else empty('chart-groundedness','no answers with a groundedness score');
(function(){var h=D.cache.hits,m=D.cache.misses,t=h+m,id='chart-cache',c=document.getElementById(id);
 if(!t){empty(id,'no requests');return;}
 var svg=el('svg',{width:460,height:220,viewBox:'0 0 460 220'},c),r=80,cx=120,cy=110,a=2*Math.PI*h/t;
 if(h===0||m===0){el('circle',{cx:cx,cy:cy,r:r,fill:h?COLORS[4]:COLORS[0],'class':'slice'},svg);}
 else{var x=cx+r*Math.sin(a),y=cy-r*Math.cos(a);
  el('path',{d:'M'+cx+','+cy+' L'+cx+','+(cy-r)+' A'+r+','+r+' 0 '+(a>Math.PI?1:0)+' 1 '+x+','+y+' Z',fill:COLORS[4],'class':'slice'},svg);
  el('path',{d:'M'+cx+','+cy+' L'+x+','+y+' A'+r+','+r+' 0 '+(a>Math.PI?0:1)+' 1 '+cx+','+(cy-r)+' Z',fill:COLORS[0],'class':'slice'},svg);}
 txt(svg,330,100,'hit rate '+(100*h/t).toFixed(1)+'%');txt(svg,330,120,h+' hits / '+m+' misses');
 done(id,2);})();
rows('table-unanswered',D.unanswered,[function(u){return u.question;},function(u){return u.count;}]);
rows('table-stale',D.stale,[function(s){return s.tenant;},function(s){return s.id;},function(s){return s.valid_until;},function(s){return s.source;}]);
rows('table-alerts',D.alerts,[function(a){return a.rule;},function(a){return a.metric;},function(a){return fmt(a.value);},function(a){return a.threshold;},function(a){return a.events;},function(a){return new Date(a.at_ms).toISOString();}]);
document.body.setAttribute('data-ready','true');
})();
</script>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use super::day_of;

    #[test]
    fn civil_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_709_164_800_000), "2024-02-29");
        assert_eq!(day_of(1_798_761_600_000), "2027-01-01");
    }
}
