-- A cross-domain raw read: the quantities ordered come straight from the webshop's raw order
-- lines (the bronze layer of sales-order-lines), not from the product's gold table.
with ordered as (
    select r.sku, sum(r.qty) as ordered_qty
    from {{ source('webshop', 'raw_webshop_order_lines') }} as r
    group by r.sku
)
select
    s.inventory_date,
    s.warehouse_id,
    s.product_sku,
    s.on_hand_qty,
    cast(coalesce(ordered.ordered_qty, 0) as integer) as reserved_qty
from {{ ref('stg_wms_stock') }} as s
left join ordered on ordered.sku = s.product_sku
