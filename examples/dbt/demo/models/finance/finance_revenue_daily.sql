-- A correct cross-domain read: finance builds on the sales-orders product's gold table.
-- Schema drift: order_count comes out as count(*)'s BIGINT, registered as INTEGER.
select
    cast(o.ordered_at as date) as accounting_date,
    o.sales_channel,
    o.shipping_country as country_code,
    o.currency_code,
    cast(sum(o.net_amount) as decimal(18, 2)) as net_revenue,
    cast(sum(o.tax_amount) as decimal(18, 2)) as tax_amount,
    count(*) as order_count
from {{ ref('sales_orders') }} as o
where o.order_status <> 'cancelled'
group by 1, 2, 3, 4
