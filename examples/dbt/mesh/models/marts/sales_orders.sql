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
    o.net_amount + o.tax_amount as gross_amount
from {{ ref('stg_orders') }} as o
