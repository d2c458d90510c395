-- A cross-domain raw read: reserved quantities come straight from the webshop's raw order
-- lines (the bronze layer of sales-order-lines), not from the product's gold table.
with reserved as (
    select r.sku, sum(r.qty) as reserved_qty
    from {{ source('webshop', 'raw_webshop_order_lines') }} as r
    where r.line_status = 'reserved'
    group by r.sku
)
select
    s.inventory_date,
    s.warehouse_id,
    s.product_sku,
    s.on_hand_qty,
    cast(coalesce(reserved.reserved_qty, 0) as integer) as reserved_qty
from {{ ref('stg_wms_stock') }} as s
left join reserved on reserved.sku = s.product_sku
