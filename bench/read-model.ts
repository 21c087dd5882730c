/**
 * The read model of a ward's cards, written straight into PostgreSQL for the search and export
 * benchmarks: hundreds of thousands of cards without running their workflows.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { backfillSearchKeys } from '../src/callcenter/search-backfill.js';

/** A seeded PRNG (mulberry32): the same queries on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The Tokyo calendar date `days` from now. */
const tokyoDate = (days: number) => new Date(Date.now() + days * 86_400_000 + 9 * 3_600_000).toISOString().slice(0, 10);

/**
 * Residents and cards straight into the read model, with distributions like a ward's after three
 * years: most pickup cards issued, a recent wave waiting for their residents, a tail of re-notices,
 * discards and expiries. States decide the ages, so that dates and states correlate as they do.
 */
export async function seedReadModel(orm: MikroORM, count: number): Promise<void> {
  await orm.em.fork().transactional(async (tx) => {
    await tx.execute(`select setseed(0.42)`);
    await tx.execute(
      `insert into card_resident (card_id, name, name_kana, alphabet_name, name_category, birth_date, postal_code, address, phone,
         nationality, residence_period_end, created_at)
       select 'S' || lpad(g::text, 7, '0'),
         case when f then k.fa[fi] else k.sn[si] || ' ' || k.gn[gi] end,
         case when f then k.fk[fi] else k.sk[si] || ' ' || k.gk[gi] end,
         case when f then k.fa[fi] end,
         case when f and fi % 2 = 0 then 'alphabet' else 'legal' end,
         date '1935-01-01' + (rb * 32000)::int,
         k.pc[ti], '江東区' || k.town[ti] || (1 + g % 6) || '-' || (1 + g % 23) || '-' || (1 + g % 31),
         case when rp < 0.7 then '03-' || (3000 + g % 7000) || '-' || lpad((g % 10000)::text, 4, '0') end,
         case when f then k.nat[fi] end,
         case when f then current_date + (rr * 1500 - 200)::int end,
         now()
       from (select g, random() < 0.03 as f, 1 + floor(random() * 4)::int as fi, 1 + floor(random() * 20)::int as si,
               1 + floor(random() * 16)::int as gi, 1 + floor(random() * 6)::int as ti, random() as rb, random() as rp, random() as rr
             from generate_series(1, ?) g) r,
         (select array['佐藤','鈴木','高橋','田中','伊藤','渡辺','山本','中村','小林','加藤','吉田','山田','佐々木','山口','松本','井上','木村','林','清水','山崎'] as sn,
                 array['サトウ','スズキ','タカハシ','タナカ','イトウ','ワタナベ','ヤマモト','ナカムラ','コバヤシ','カトウ','ヨシダ','ヤマダ','ササキ','ヤマグチ','マツモト','イノウエ','キムラ','ハヤシ','シミズ','ヤマザキ'] as sk,
                 array['太郎','花子','一郎','美咲','健太','陽菜','翔','結衣','蓮','葵','大輔','直美','誠','由美','拓海','さくら'] as gn,
                 array['タロウ','ハナコ','イチロウ','ミサキ','ケンタ','ヒナ','ショウ','ユイ','レン','アオイ','ダイスケ','ナオミ','マコト','ユミ','タクミ','サクラ'] as gk,
                 array['NGUYEN VAN AN','WANG XIAOMING','KIM MINJUN','SANTOS MARIA'] as fa,
                 array['グエン ヴァン アン','ワン シャオミン','キム ミンジュン','サントス マリア'] as fk,
                 array['ベトナム','中国','韓国','フィリピン'] as nat,
                 array['135-0016','135-0061','136-0072','136-0071','135-0011','136-0076'] as pc,
                 array['東陽','豊洲','大島','亀戸','扇橋','南砂'] as town) k`,
      [count],
    );
    // The call center's search keys, as registration writes them.
    await backfillSearchKeys((sql, params) => tx.execute(sql, params));
    await tx.execute(
      `with a as (
         select r.card_id, r.phone is not null as has_phone, r.residence_period_end,
           case when x < 0.80 then 'pickup' when x < 0.90 then 'counter' when x < 0.94 then 'outreach' when x < 0.97 then 'express' else 'other' end as route,
           random() as rs, random() as ra, random() as rn, random() as rv, random() as rx
         from (select card_id, phone, residence_period_end, random() as x from card_resident where card_id like 'S%' order by card_id) r
       ), b as (
         select a.*,
           case route
             when 'pickup' then case
               when rs < 0.008 then 'received' when rs < 0.016 then 'inspected' when rs < 0.022 then 'shipped_to_venue'
               when rs < 0.035 then 'at_venue' when rs < 0.175 then 'notice_mailed' when rs < 0.185 then 'notice_returned'
               when rs < 0.225 then 'reserved' when rs < 0.235 then 'no_show' when rs < 0.240 then 'documents_missing'
               when rs < 0.245 then 'on_hold' when rs < 0.250 then 'removed' when rs < 0.255 then 'renotice_approved'
               when rs < 0.285 then 'renoticed' when rs < 0.290 then 'expired' when rs < 0.325 then 'discarded' else 'issued' end
             when 'express' then case when rs < 0.03 then 'received' when rs < 0.10 then 'mailed_by_jlis' else 'delivered' end
             else case when rs < 0.02 then 'received' when rs < 0.05 then 'inspected' when rs < 0.09 then 'handed_to_ward'
               when rs < 0.14 then 'mailed_by_ward' when rs < 0.145 then 'on_hold' else 'delivered' end
           end as state,
           case when rv < 0.45 then 'kuyakusho' when rv < 0.75 then 'toyosu' else 'oshima' end as venue_id
         from a
       ), c as (
         select b.*, now() - make_interval(secs => 86400 * case
             when state in ('received', 'inspected', 'shipped_to_venue', 'at_venue') then ra * case when route = 'pickup' then 20 else 10 end
             when state = 'notice_mailed' then 15 + ra * ra * 350
             when state in ('notice_returned', 'reserved', 'no_show', 'documents_missing', 'on_hold', 'removed') then 15 + ra * 200
             when state in ('renotice_approved', 'renoticed') then 110 + ra * 200
             when state in ('expired', 'discarded') then 200 + ra * 900
             when state in ('handed_to_ward', 'mailed_by_ward', 'mailed_by_jlis') then 3 + ra * 20
             else 15 + ra * 1085 end) as received_at
         from b
       ), d as (
         select c.*,
           case when route = 'pickup' and state not in ('received', 'inspected', 'shipped_to_venue', 'at_venue')
                  and (state not in ('on_hold', 'removed', 'expired', 'discarded') or rx < 0.7)
             then least(now(), received_at + make_interval(secs => 86400 * (5 + rn * 9))) end as notice_mailed_at
         from c
       ), e as (
         select d.*,
           case when state in ('renotice_approved', 'renoticed') or (state = 'discarded' and notice_mailed_at is not null and rx < 0.35)
             then least(now(), notice_mailed_at + interval '95 days') end as renoticed_at,
           case when state = 'issued' then least(now(), notice_mailed_at + make_interval(secs => 86400 * (1 + rn * 40))) end as issued_at
         from d
       ), f as (
         select e.*,
           case when state = 'issued' then issued_at
                when state = 'delivered' then least(now(), received_at + make_interval(secs => 86400 * (7 + rn * 20)))
                when state = 'discarded' then least(now(), coalesce(renoticed_at, notice_mailed_at, received_at) + interval '100 days') end as closed_at,
           array_position(array['received', 'inspected', 'shipped_to_venue', 'at_venue', 'notice_mailed', 'notice_returned', 'reserved',
             'no_show', 'documents_missing', 'issued', 'on_hold', 'removed', 'renotice_approved', 'renoticed', 'expired', 'discarded',
             'handed_to_ward', 'mailed_by_ward', 'mailed_by_jlis', 'delivered'], state) + 1 as seq,
           case when state = 'notice_mailed' and received_at < now() - interval '100 days' then '{renotice}'
                when state = 'renoticed' and received_at < now() - interval '200 days' then '{discard}'
                when state in ('removed', 'expired') then '{discard}'
                when state = 'reserved' and rx < 0.02 then '{no_show}' else '{}' end::text[] as proposal_kinds
         from e
       )
       insert into card (card_id, route, state, seq, venue_id, late, proposal_kinds, received_at, notice_mailed_at, renoticed_at,
         issued_at, closed_at, expires_on, booking_number, snapshot, updated_at)
       select card_id, route, state, seq, venue_id,
         route = 'pickup' and state in ('received', 'inspected', 'shipped_to_venue', 'at_venue') and received_at < now() - interval '14 days',
         proposal_kinds, received_at, notice_mailed_at, renoticed_at, issued_at, closed_at,
         least((received_at + interval '10 years')::date, residence_period_end),
         case when state = 'reserved' then '7' || substr(card_id, 2) end,
         jsonb_strip_nulls(jsonb_build_object('cardId', card_id, 'route', route, 'state', state, 'seq', seq, 'venueId', venue_id,
           'hasPhone', has_phone, 'late', false, 'receivedAt', (extract(epoch from received_at) * 1000)::bigint,
           'noticeMailedAt', (extract(epoch from notice_mailed_at) * 1000)::bigint, 'proposals', '[]'::jsonb, 'rejected', '[]'::jsonb)),
         greatest(received_at, notice_mailed_at, renoticed_at, issued_at, closed_at)
       from f`,
    );
  });
  // A ward's database has been vacuumed and analysed by autovacuum long before anyone searches it.
  await orm.em.fork().execute(`vacuum analyze card_resident`);
  await orm.em.fork().execute(`vacuum analyze card`);
}

/** Search requests as staff make them: three filters and a sort, values varied. */
export function searchQueries(n: number): string[] {
  const rnd = prng(20261124);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  // Weighted by how often staff look for each: the cards waiting for their residents most.
  const states = ['notice_mailed', 'notice_mailed', 'notice_mailed', 'reserved', 'reserved', 'no_show', 'notice_returned', 'renoticed', 'documents_missing', 'issued'];
  const venues = ['kuyakusho', 'toyosu', 'oshima'];
  return Array.from({ length: n }, () => {
    const q = new URLSearchParams({
      state: pick(states),
      venue: pick(venues),
      noticeMailedFrom: tokyoDate(-Math.round(7 + rnd() * 400)),
      sort: rnd() < 0.75 ? '-noticeMailedAt' : 'noticeMailedAt',
      limit: '50',
    });
    return `/api/cards?${q.toString()}`;
  });
}
