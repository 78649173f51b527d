Function ARPU(revenue, customers)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        ARPU = XLPy.CallUDF("xlclv.udfs", "ARPU", Array(revenue, customers), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        ARPU = XLPy.CallUDF("xlclv.udfs", "ARPU", Array(revenue, customers))
        Exit Function
    #End If
failed:
    ARPU = Err.Description
End Function

Function BGBB_EXPECTED(n_future, frequency, recency, n_periods, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        BGBB_EXPECTED = XLPy.CallUDF("xlclv.udfs", "BGBB_EXPECTED", Array(n_future, frequency, recency, n_periods, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        BGBB_EXPECTED = XLPy.CallUDF("xlclv.udfs", "BGBB_EXPECTED", Array(n_future, frequency, recency, n_periods, params))
        Exit Function
    #End If
failed:
    BGBB_EXPECTED = Err.Description
End Function

Function BGBB_FIT(frequency, recency, n_periods, Optional weights)
    If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        BGBB_FIT = XLPy.CallUDF("xlclv.udfs", "BGBB_FIT", Array(frequency, recency, n_periods, weights), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        BGBB_FIT = XLPy.CallUDF("xlclv.udfs", "BGBB_FIT", Array(frequency, recency, n_periods, weights))
        Exit Function
    #End If
failed:
    BGBB_FIT = Err.Description
End Function

Function BGBB_PALIVE(frequency, recency, n_periods, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        BGBB_PALIVE = XLPy.CallUDF("xlclv.udfs", "BGBB_PALIVE", Array(frequency, recency, n_periods, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        BGBB_PALIVE = XLPy.CallUDF("xlclv.udfs", "BGBB_PALIVE", Array(frequency, recency, n_periods, params))
        Exit Function
    #End If
failed:
    BGBB_PALIVE = Err.Description
End Function

Function BGNBD_EXPECTED(horizon, frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        BGNBD_EXPECTED = XLPy.CallUDF("xlclv.udfs", "BGNBD_EXPECTED", Array(horizon, frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        BGNBD_EXPECTED = XLPy.CallUDF("xlclv.udfs", "BGNBD_EXPECTED", Array(horizon, frequency, recency, T, params))
        Exit Function
    #End If
failed:
    BGNBD_EXPECTED = Err.Description
End Function

Function BGNBD_FIT(frequency, recency, T)
    If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        BGNBD_FIT = XLPy.CallUDF("xlclv.udfs", "BGNBD_FIT", Array(frequency, recency, T), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        BGNBD_FIT = XLPy.CallUDF("xlclv.udfs", "BGNBD_FIT", Array(frequency, recency, T))
        Exit Function
    #End If
failed:
    BGNBD_FIT = Err.Description
End Function

Function BGNBD_PALIVE(frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        BGNBD_PALIVE = XLPy.CallUDF("xlclv.udfs", "BGNBD_PALIVE", Array(frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        BGNBD_PALIVE = XLPy.CallUDF("xlclv.udfs", "BGNBD_PALIVE", Array(frequency, recency, T, params))
        Exit Function
    #End If
failed:
    BGNBD_PALIVE = Err.Description
End Function

Function BGNBD_PNOPURCHASE(horizon, frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        BGNBD_PNOPURCHASE = XLPy.CallUDF("xlclv.udfs", "BGNBD_PNOPURCHASE", Array(horizon, frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        BGNBD_PNOPURCHASE = XLPy.CallUDF("xlclv.udfs", "BGNBD_PNOPURCHASE", Array(horizon, frequency, recency, T, params))
        Exit Function
    #End If
failed:
    BGNBD_PNOPURCHASE = Err.Description
End Function

Function CAC_PAYBACK(cac, monthly_revenue_per_customer, Optional gross_margin)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CAC_PAYBACK = XLPy.CallUDF("xlclv.udfs", "CAC_PAYBACK", Array(cac, monthly_revenue_per_customer, gross_margin), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CAC_PAYBACK = XLPy.CallUDF("xlclv.udfs", "CAC_PAYBACK", Array(cac, monthly_revenue_per_customer, gross_margin))
        Exit Function
    #End If
failed:
    CAC_PAYBACK = Err.Description
End Function

Function CHURN_RATE(customers_at_start, customers_lost)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CHURN_RATE = XLPy.CallUDF("xlclv.udfs", "CHURN_RATE", Array(customers_at_start, customers_lost), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CHURN_RATE = XLPy.CallUDF("xlclv.udfs", "CHURN_RATE", Array(customers_at_start, customers_lost))
        Exit Function
    #End If
failed:
    CHURN_RATE = Err.Description
End Function

Function CLV_HISTORICAL(amounts, Optional gross_margin, Optional costs, Optional customers)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CLV_HISTORICAL = XLPy.CallUDF("xlclv.udfs", "CLV_HISTORICAL", Array(amounts, gross_margin, costs, customers), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CLV_HISTORICAL = XLPy.CallUDF("xlclv.udfs", "CLV_HISTORICAL", Array(amounts, gross_margin, costs, customers))
        Exit Function
    #End If
failed:
    CLV_HISTORICAL = Err.Description
End Function

Function CLV_MODEL(customer_ids, dates, amounts, Optional gross_margin, Optional horizon_months, Optional annual_discount_rate, Optional model, Optional time_unit, Optional interval)
    If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CLV_MODEL = XLPy.CallUDF("xlclv.udfs", "CLV_MODEL", Array(customer_ids, dates, amounts, gross_margin, horizon_months, annual_discount_rate, model, time_unit, interval), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CLV_MODEL = XLPy.CallUDF("xlclv.udfs", "CLV_MODEL", Array(customer_ids, dates, amounts, gross_margin, horizon_months, annual_discount_rate, model, time_unit, interval))
        Exit Function
    #End If
failed:
    CLV_MODEL = Err.Description
End Function

Function CLV_PREDICTIVE(avg_monthly_transactions, avg_order_value, gross_margin, lifetime_months, Optional monthly_discount_rate)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CLV_PREDICTIVE = XLPy.CallUDF("xlclv.udfs", "CLV_PREDICTIVE", Array(avg_monthly_transactions, avg_order_value, gross_margin, lifetime_months, monthly_discount_rate), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CLV_PREDICTIVE = XLPy.CallUDF("xlclv.udfs", "CLV_PREDICTIVE", Array(avg_monthly_transactions, avg_order_value, gross_margin, lifetime_months, monthly_discount_rate))
        Exit Function
    #End If
failed:
    CLV_PREDICTIVE = Err.Description
End Function

Function CLV_RFM(customer_ids, dates, amounts, Optional observation_end, Optional time_unit)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CLV_RFM = XLPy.CallUDF("xlclv.udfs", "CLV_RFM", Array(customer_ids, dates, amounts, observation_end, time_unit), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CLV_RFM = XLPy.CallUDF("xlclv.udfs", "CLV_RFM", Array(customer_ids, dates, amounts, observation_end, time_unit))
        Exit Function
    #End If
failed:
    CLV_RFM = Err.Description
End Function

Function CLV_SIMPLE(avg_order_value, orders_per_period, lifetime_periods, Optional gross_margin, Optional acquisition_cost)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CLV_SIMPLE = XLPy.CallUDF("xlclv.udfs", "CLV_SIMPLE", Array(avg_order_value, orders_per_period, lifetime_periods, gross_margin, acquisition_cost), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CLV_SIMPLE = XLPy.CallUDF("xlclv.udfs", "CLV_SIMPLE", Array(avg_order_value, orders_per_period, lifetime_periods, gross_margin, acquisition_cost))
        Exit Function
    #End If
failed:
    CLV_SIMPLE = Err.Description
End Function

Function GG_FIT(frequency, monetary_value)
    If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        GG_FIT = XLPy.CallUDF("xlclv.udfs", "GG_FIT", Array(frequency, monetary_value), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        GG_FIT = XLPy.CallUDF("xlclv.udfs", "GG_FIT", Array(frequency, monetary_value))
        Exit Function
    #End If
failed:
    GG_FIT = Err.Description
End Function

Function GG_SPEND(frequency, monetary_value, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        GG_SPEND = XLPy.CallUDF("xlclv.udfs", "GG_SPEND", Array(frequency, monetary_value, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        GG_SPEND = XLPy.CallUDF("xlclv.udfs", "GG_SPEND", Array(frequency, monetary_value, params))
        Exit Function
    #End If
failed:
    GG_SPEND = Err.Description
End Function

Function LIFETIME(churn_rate)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LIFETIME = XLPy.CallUDF("xlclv.udfs", "LIFETIME", Array(churn_rate), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LIFETIME = XLPy.CallUDF("xlclv.udfs", "LIFETIME", Array(churn_rate))
        Exit Function
    #End If
failed:
    LIFETIME = Err.Description
End Function

Function LIFETIME_DISCOUNTED(churn_rate, discount_rate)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LIFETIME_DISCOUNTED = XLPy.CallUDF("xlclv.udfs", "LIFETIME_DISCOUNTED", Array(churn_rate, discount_rate), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LIFETIME_DISCOUNTED = XLPy.CallUDF("xlclv.udfs", "LIFETIME_DISCOUNTED", Array(churn_rate, discount_rate))
        Exit Function
    #End If
failed:
    LIFETIME_DISCOUNTED = Err.Description
End Function

Function LTV_CAC(ltv, cac)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LTV_CAC = XLPy.CallUDF("xlclv.udfs", "LTV_CAC", Array(ltv, cac), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LTV_CAC = XLPy.CallUDF("xlclv.udfs", "LTV_CAC", Array(ltv, cac))
        Exit Function
    #End If
failed:
    LTV_CAC = Err.Description
End Function

Function MBGNBD_EXPECTED(horizon, frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        MBGNBD_EXPECTED = XLPy.CallUDF("xlclv.udfs", "MBGNBD_EXPECTED", Array(horizon, frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        MBGNBD_EXPECTED = XLPy.CallUDF("xlclv.udfs", "MBGNBD_EXPECTED", Array(horizon, frequency, recency, T, params))
        Exit Function
    #End If
failed:
    MBGNBD_EXPECTED = Err.Description
End Function

Function MBGNBD_FIT(frequency, recency, T)
    If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        MBGNBD_FIT = XLPy.CallUDF("xlclv.udfs", "MBGNBD_FIT", Array(frequency, recency, T), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        MBGNBD_FIT = XLPy.CallUDF("xlclv.udfs", "MBGNBD_FIT", Array(frequency, recency, T))
        Exit Function
    #End If
failed:
    MBGNBD_FIT = Err.Description
End Function

Function MBGNBD_PALIVE(frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        MBGNBD_PALIVE = XLPy.CallUDF("xlclv.udfs", "MBGNBD_PALIVE", Array(frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        MBGNBD_PALIVE = XLPy.CallUDF("xlclv.udfs", "MBGNBD_PALIVE", Array(frequency, recency, T, params))
        Exit Function
    #End If
failed:
    MBGNBD_PALIVE = Err.Description
End Function

Function MBGNBD_PNOPURCHASE(horizon, frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        MBGNBD_PNOPURCHASE = XLPy.CallUDF("xlclv.udfs", "MBGNBD_PNOPURCHASE", Array(horizon, frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        MBGNBD_PNOPURCHASE = XLPy.CallUDF("xlclv.udfs", "MBGNBD_PNOPURCHASE", Array(horizon, frequency, recency, T, params))
        Exit Function
    #End If
failed:
    MBGNBD_PNOPURCHASE = Err.Description
End Function

Function NPS(scores)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        NPS = XLPy.CallUDF("xlclv.udfs", "NPS", Array(scores), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        NPS = XLPy.CallUDF("xlclv.udfs", "NPS", Array(scores))
        Exit Function
    #End If
failed:
    NPS = Err.Description
End Function

Function NPS_CATEGORY(score)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        NPS_CATEGORY = XLPy.CallUDF("xlclv.udfs", "NPS_CATEGORY", Array(score), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        NPS_CATEGORY = XLPy.CallUDF("xlclv.udfs", "NPS_CATEGORY", Array(score))
        Exit Function
    #End If
failed:
    NPS_CATEGORY = Err.Description
End Function

Function NPS_INTERVAL(scores, Optional confidence)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        NPS_INTERVAL = XLPy.CallUDF("xlclv.udfs", "NPS_INTERVAL", Array(scores, confidence), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        NPS_INTERVAL = XLPy.CallUDF("xlclv.udfs", "NPS_INTERVAL", Array(scores, confidence))
        Exit Function
    #End If
failed:
    NPS_INTERVAL = Err.Description
End Function

Function PNBD_EXPECTED(horizon, frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PNBD_EXPECTED = XLPy.CallUDF("xlclv.udfs", "PNBD_EXPECTED", Array(horizon, frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PNBD_EXPECTED = XLPy.CallUDF("xlclv.udfs", "PNBD_EXPECTED", Array(horizon, frequency, recency, T, params))
        Exit Function
    #End If
failed:
    PNBD_EXPECTED = Err.Description
End Function

Function PNBD_FIT(frequency, recency, T)
    If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PNBD_FIT = XLPy.CallUDF("xlclv.udfs", "PNBD_FIT", Array(frequency, recency, T), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PNBD_FIT = XLPy.CallUDF("xlclv.udfs", "PNBD_FIT", Array(frequency, recency, T))
        Exit Function
    #End If
failed:
    PNBD_FIT = Err.Description
End Function

Function PNBD_PALIVE(frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PNBD_PALIVE = XLPy.CallUDF("xlclv.udfs", "PNBD_PALIVE", Array(frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PNBD_PALIVE = XLPy.CallUDF("xlclv.udfs", "PNBD_PALIVE", Array(frequency, recency, T, params))
        Exit Function
    #End If
failed:
    PNBD_PALIVE = Err.Description
End Function

Function PNBD_PNOPURCHASE(horizon, frequency, recency, T, params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PNBD_PNOPURCHASE = XLPy.CallUDF("xlclv.udfs", "PNBD_PNOPURCHASE", Array(horizon, frequency, recency, T, params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PNBD_PNOPURCHASE = XLPy.CallUDF("xlclv.udfs", "PNBD_PNOPURCHASE", Array(horizon, frequency, recency, T, params))
        Exit Function
    #End If
failed:
    PNBD_PNOPURCHASE = Err.Description
End Function

Function RETENTION_RATE(customers_at_start, customers_at_end, new_customers)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        RETENTION_RATE = XLPy.CallUDF("xlclv.udfs", "RETENTION_RATE", Array(customers_at_start, customers_at_end, new_customers), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        RETENTION_RATE = XLPy.CallUDF("xlclv.udfs", "RETENTION_RATE", Array(customers_at_start, customers_at_end, new_customers))
        Exit Function
    #End If
failed:
    RETENTION_RATE = Err.Description
End Function

Function SBG_DERL(alpha, beta, periods_survived, Optional discount_rate)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        SBG_DERL = XLPy.CallUDF("xlclv.udfs", "SBG_DERL", Array(alpha, beta, periods_survived, discount_rate), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        SBG_DERL = XLPy.CallUDF("xlclv.udfs", "SBG_DERL", Array(alpha, beta, periods_survived, discount_rate))
        Exit Function
    #End If
failed:
    SBG_DERL = Err.Description
End Function

Function SBG_FIT(active_by_period)
    If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        SBG_FIT = XLPy.CallUDF("xlclv.udfs", "SBG_FIT", Array(active_by_period), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        SBG_FIT = XLPy.CallUDF("xlclv.udfs", "SBG_FIT", Array(active_by_period))
        Exit Function
    #End If
failed:
    SBG_FIT = Err.Description
End Function

Function SBG_LIFETIME(alpha, beta, Optional discount_rate)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        SBG_LIFETIME = XLPy.CallUDF("xlclv.udfs", "SBG_LIFETIME", Array(alpha, beta, discount_rate), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        SBG_LIFETIME = XLPy.CallUDF("xlclv.udfs", "SBG_LIFETIME", Array(alpha, beta, discount_rate))
        Exit Function
    #End If
failed:
    SBG_LIFETIME = Err.Description
End Function

Function SBG_SURVIVAL(alpha, beta, periods)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        SBG_SURVIVAL = XLPy.CallUDF("xlclv.udfs", "SBG_SURVIVAL", Array(alpha, beta, periods), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        SBG_SURVIVAL = XLPy.CallUDF("xlclv.udfs", "SBG_SURVIVAL", Array(alpha, beta, periods))
        Exit Function
    #End If
failed:
    SBG_SURVIVAL = Err.Description
End Function

