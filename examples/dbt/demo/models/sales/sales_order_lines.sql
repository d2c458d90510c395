-- Schema drift: discount_amount, a registered column of sales-order-lines, is no longer built.
select
    l.order_line_id,
    l.order_id,
    l.product_sku,
    l.quantity,
    l.unit_price,
    l.line_net_amount,
    l.currency_code
from {{ ref('stg_webshop_order_lines') }} as l
