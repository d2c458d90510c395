select
    o.order_id,
    o.customer_id,
    o.ordered_at,
    o.order_status,
    o.sales_channel,
    o.shipping_country,
    o.currency_code,
    o.net_amount,
    o.tax_amount,
    cast(o.net_amount + o.tax_amount as decimal(18, 2)) as gross_amount
from {{ ref('stg_webshop_orders') }} as o
